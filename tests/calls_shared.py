"""Bad-input campaign specs for the shared modules (labkit.data, runtime, style, exercises, curriculum).

See tests/campaign.py. Functions without arguments are listed with an empty call: they are then
only checked to work.
"""

import tempfile
from pathlib import Path

import numpy as np

import campaign
from campaign import Call, Fresh

def _npz_path() -> Path:
    """Where save_arrays writes: one reused file in the temporary folder (nothing piles up)."""
    folder = Path(tempfile.gettempdir()) / "labkit-campaign-shared"
    folder.mkdir(exist_ok=True)
    return folder / "arrays.npz"


EXCLUDED = {
    "labkit.i18n:use_cjk_font": "no arguments; it changes matplotlib's global font list, so it runs only in "
                                "tests/test_i18n_labkit.py (inside rc_context), which also checks its error",
    "labkit.curriculum:Entry": "a row of the curriculum table (a frozen dataclass), built only by the module",
    "labkit.curriculum:LabMap": "the result of lab_map (a frozen dataclass)",
    "labkit.data:DataFileError": "an exception class",
    "labkit.data:Dataset": "the result of load (a frozen dataclass)",
    "labkit.exercises:ExerciseResult": "the result of check (a frozen dataclass)",
    "labkit.exercises:Hint": "an exception class raised by checkers",
    "labkit.exercises:Exercise": "a registry entry (a frozen dataclass) written by the checks modules; its "
                                 "arguments are checked in test_exercises_framework",
    "labkit.runtime:VersionsTable": "the result of versions_table / setup (a frozen dataclass)",
}

CALLS = [
    # i18n (the Chinese edition)
    # a message with no translation is shown as it is (documented); None means "detect the language"
    Call("labkit.i18n:tr", dict(message="step"), accepts={"message": {"unknown"}}),
    Call("labkit.i18n:N_", dict(message="step"), accepts={"message": {"unknown"}}),
    Call("labkit.i18n:language", dict()),
    Call("labkit.i18n:set_language", dict(lang=None), accepts={"lang": {"none"}}),
    Call("labkit.i18n:catalogue", dict()),
    Call("labkit.i18n:text_width", dict(text="隐私 ok"), accepts={"text": {"unknown"}}),  # any string has a width
    Call("labkit.i18n:pad", dict(text="隐私", width=8), accepts={"text": {"unknown"}, "width": {"zero", "huge"}}),
    # curriculum
    Call("labkit.curriculum:lab_map", dict(notebooks_dir="notebooks"), kinds={"notebooks_dir": "object"}),
    Call("labkit.curriculum:track_minutes", dict()),
    Call("labkit.curriculum:exercise_summary", dict(number="02")),
    # data
    Call("labkit.data:data_dir", dict()),
    Call("labkit.data:manifest_path", dict()),
    Call("labkit.data:read_manifest", dict()),
    Call("labkit.data:sha256_of", dict(path=Path("data/manifest.json")), kinds={"path": "object"}),
    Call("labkit.data:verified_path", dict(relative="splits/digits.npz")),
    Call("labkit.data:load_arrays", dict(relative="splits/digits.npz")),
    Call("labkit.data:load_json", dict(relative="sweeps/fl_table2.json")),
    Call("labkit.data:load", dict(name="breast_cancer")),
    Call("labkit.data:build_split", dict(name="breast_cancer")),
    Call("labkit.data:save_arrays", dict(path=Fresh(_npz_path), x=np.arange(3.0)), kinds={"path": "object"},
         # save_arrays stores any numeric array as it is: empty arrays, scalars, extra axes, NaN and inf
         # are data (the lab's sweeps hold NaN for "not reached"); a string array is stored as text.
         accepts={"x": {"empty", "nan_entry", "inf_entry", "scalar", "extra_axis", "string"}}),
    Call("labkit.data:partition", dict(labels=np.arange(40) % 4, num_clients=4, scheme="dirichlet", alpha=0.5,
                                       seed=0, min_size=1),
         kinds={"alpha": "real"},
         accepts={"seed": {"zero", "huge"},  # 0 (the default) and 10**9 are seeds like any other
                  "alpha": {"huge"},  # a huge concentration is the IID limit (equal shares), as documented
                  "min_size": {"zero"}}),  # min_size 0 allows clients without examples (documented)
    # exercises
    Call("labkit.exercises:exercise_ids", dict(notebook="02")),
    Call("labkit.exercises:checker_for", dict(exercise="00.1")),
    Call("labkit.exercises:exercise_info", dict(exercise="00.1")),
    Call("labkit.exercises:exercise_label", dict(exercise="00.1")),
    Call("labkit.exercises:check", dict(exercise="00.1", answer=lambda: 1, hint=False),
         # the learner's answer: any object gives an ExerciseResult "not yet" (check never raises)
         accepts={"answer": {"none", "string", "number"}}),
    Call("labkit.exercises:require", dict(condition=True, hint="say why"),
         accepts={"hint": {"unknown"}}),  # any sentence is a hint
    Call("labkit.exercises:require_number", dict(got=1.5, what="the mean"),
         skip={"got": "the learner's returned value: every bad value gives the documented Hint (a checker's "
                      "verdict, not an argument error); tests/test_exercises_framework.py checks each"},
         accepts={"what": {"unknown"}}),  # any phrase names what is asked for
    Call("labkit.exercises:require_names_and_fix", dict(out=({"step_a"}, print), suspects=["step_a", "step_b"],
                                                         noun="step"),
         skip={"out": "the learner's returned value: every bad value gives the documented Hint (a checker's "
                      "verdict, not an argument error); tests/test_exercises_framework.py checks each"},
         kinds={"suspects": "object"}, accepts={"noun": {"unknown"}}),  # any word names a suspect
    # runtime
    Call("labkit.runtime:package_version", dict(name="numpy"),
         accepts={"name": {"unknown"}}),  # documented: "not installed"
    Call("labkit.runtime:quiet_environment", dict()),
    Call("labkit.runtime:silence_python_noise", dict()),
    # a global seed is an integer from 0 to 2**32 - 1: 0 (the default) and 10**9 are valid seeds
    Call("labkit.runtime:versions_table", dict(seed=3), accepts={"seed": {"zero", "huge"}}),
    Call("labkit.runtime:seed_everything", dict(seed=3, tensorflow=False), accepts={"seed": {"zero", "huge"}}),
    Call("labkit.runtime:setup", dict(seed=3, quiet=True, plots=False, tensorflow=False),
         accepts={"seed": {"zero", "huge"}}),
    # style
    Call("labkit.style:use_style", dict()),
    Call("labkit.style:new_axes", dict(ncols=1, nrows=1)),
]

CALLS, EXCLUDED = campaign.with_topic_files(__file__, CALLS, EXCLUDED)
