"""Stored notebooks follow the output conventions (conventions.md, 'Outputs and nbval')."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools.notebooks import hygiene_problems

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
ZH_NOTEBOOKS = sorted((ROOT / "notebooks" / "zh").glob("*.ipynb"))  # the Chinese edition (tests/test_i18n.py)


def test_there_are_notebooks_and_an_index():
    assert (ROOT / "notebooks" / "00-index.ipynb") in NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS + ZH_NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT / "notebooks")))
def test_notebook_output_hygiene(path):
    assert hygiene_problems(path) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_has_the_standard_sections(path):
    nb = json.loads(path.read_text())
    text = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    title = "".join(nb["cells"][0]["source"]).splitlines()[0]
    assert title.startswith("# "), f"{path.name}: first cell must be the '# Title'"
    if path.name != "00-index.ipynb":
        for heading in ("You will learn", "Setup", "Summary", "Exercises", "What's next"):
            assert heading in text, f"{path.name}: no '{heading}' section"


def test_hygiene_check_catches_bad_outputs(tmp_path):
    nb = {
        "cells": [
            {"cell_type": "code", "source": ["import labkit\n", "labkit.setup()"], "execution_count": 1,
             "metadata": {}, "outputs": [{"output_type": "stream", "name": "stderr", "text": ["W tensorflow/core noise"]}]},
            {"cell_type": "code", "source": ["!pip install foo"], "execution_count": 3, "metadata": {},
             "outputs": [{"output_type": "execute_result", "execution_count": 3, "metadata": {},
                          "data": {"text/plain": ["<Model at 0x7f3a2b1c9d00> /root/x"]}}]},
        ],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5,
    }
    bad = tmp_path / "1-Bad Name.ipynb"
    bad.write_text(json.dumps(nb))
    problems = "\n".join(hygiene_problems(bad))
    for expected in ("not NN-slug", "stderr", "pip install", "execution_count 3, expected 2", "at 0x7f3a2b",
                     "first code cell after Setup must open with '# This notebook uses labkit'"):
        assert expected in problems


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if p.name != "00-index.ipynb"], ids=lambda p: p.name)
def test_every_exercise_heading_states_its_kind_level_and_time(path):
    # The heading a learner reads before starting, "**Exercise 02.1 (build, core, about 10 min...).**", says what
    # the registry says (labkit.exercises.exercise_label): a changed level or time is changed in one place.
    import re

    from labkit.exercises import exercise_ids, exercise_label

    nb = json.loads(path.read_text())
    text = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    headings = dict(re.findall(r"\*\*Exercise (\d\d\.\d+) \(([^)]*)\)", text))
    for exercise in exercise_ids(path.name[:2]):
        assert exercise in headings, f"{path.name}: no '**Exercise {exercise} (...)' heading"
        want = exercise_label(exercise)
        assert headings[exercise].startswith(want), (
            f"{path.name}: Exercise {exercise} says ({headings[exercise]}); the registry says ({want})")
