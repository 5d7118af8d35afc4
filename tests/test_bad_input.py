"""Bad input never passes silently: the campaign of tests/campaign.py, run over every track.

* Every public labkit function is in a track's campaign (or excluded there with a reason).
* Walking each track (every argument of every function, each bad value of its kind, in a spawned worker
  with a time limit): no call hangs, no working call is broken, no bad value passes silently in the
  privacy, accounting or capstone code, and in every module at least 95% of bad values get a clear error
  naming the argument or a documented result.
* Hypothesis then draws further bad values of each kind (any negative number, any fraction for a count,
  NaN and infinities) for randomly chosen arguments, with the same verdicts.
"""

from __future__ import annotations

import importlib
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import campaign

# Modules where a bad value that passes is a privacy failure, not only a poor message.
PRIVACY_MODULES = ("labkit.dp", "labkit.dp.mechanisms", "labkit.dp.calibration", "labkit.dp.accounting",
                   "labkit.dp.dpsgd", "labkit.dp.audit", "labkit.fl.dp_fedavg", "labkit.capstone",
                   "labkit.capstone.federation")
THRESHOLD = 0.95
TRACKS = [t for t in campaign.TRACKS if campaign.spec_modules([t])]


def _specs(track: str):
    (name,) = campaign.spec_modules([track])
    return name, importlib.import_module(name)


def test_every_public_function_is_in_a_campaign():
    listed, excluded = set(), set()
    for track in TRACKS:
        _, module = _specs(track)
        for call in module.CALLS:  # "module:function" or "module:Class.method" (which covers the class)
            mod, _, name = call.target.partition(":")
            listed.add(f"{mod}:{name.split('.')[0]}")
        excluded |= set(getattr(module, "EXCLUDED", {}))
    public = {f for f in campaign.public_functions() if not f.split(":")[0].endswith("checks")}
    missing = sorted(public - listed - excluded)
    assert not missing, f"{len(missing)} public names are in no campaign: {missing[:20]}"


@pytest.mark.slow
@pytest.mark.parametrize("track", TRACKS)
def test_bad_input_campaign(track):
    name, _ = _specs(track)
    results = campaign.walk([name])
    report = campaign.report(results)
    print(report)
    by_module: dict[str, list] = {}
    for r in results:
        by_module.setdefault(r.target.split(":")[0], []).append(r)
    problems = [r for r in results if r.outcome in ("hang", "broken-spec")]
    problems += [r for r in results if r.outcome == "silent" and r.target.split(":")[0] in PRIVACY_MODULES]
    assert not problems, "\n".join(f"{r.outcome} {r.target} {r.param}={r.kind}: {r.detail}" for r in problems)
    for module, rs in by_module.items():
        good = sum(r.outcome in ("clear", "documented") for r in rs) / len(rs)
        assert good >= THRESHOLD, f"{module}: {good:.1%} clear or documented (< {THRESHOLD:.0%})\n{report}"


def _drawn_value(kind: str):
    """A hypothesis strategy for further bad values of one kind."""
    return {
        "nan": st.just(math.nan),
        "inf": st.just(math.inf),
        "-inf": st.just(-math.inf),
        "negative": st.one_of(st.floats(-1e12, -1e-9), st.integers(-10**12, -1)),
        "fraction": st.floats(0.01, 1e6).filter(lambda x: not float(x).is_integer()),
    }.get(kind)  # "huge" is left to the walk: 1e12 may be a valid size where 1e300 overflows


def _walkable(track: str):
    name, module = _specs(track)
    rows = []
    for index, call in enumerate(module.CALLS):
        for param, value in call.kwargs.items():
            if param in call.skip:
                continue
            fam = call.kinds.get(param) or campaign.family(campaign._build(value))
            for kind in campaign.KINDS[fam]:
                if _drawn_value(kind) is not None and not (fam == "real" and kind == "fraction"):
                    rows.append((index, param, kind))
    return name, module, rows


@pytest.mark.slow
@pytest.mark.parametrize("track", TRACKS)
def test_drawn_bad_values_get_the_same_verdicts(track):
    name, module, rows = _walkable(track)
    runner = campaign.Runner([name])
    verdicts = []
    try:
        @settings(max_examples=100, database=None, derandomize=True)  # the same draws in every run
        @given(st.data())
        def one(data):
            index, param, kind = data.draw(st.sampled_from(rows))
            value = data.draw(_drawn_value(kind))
            call = module.CALLS[index]
            if call.kinds.get(param, campaign.family(campaign._build(call.kwargs[param]))) == "count" and kind == "negative":
                value = -abs(int(value)) or -1
            outcome, detail = campaign.classify(call, param, kind, runner.run(name, index, param, kind, call.timeout, value))
            verdicts.append(outcome)
            module_name = call.target.split(":")[0]
            assert outcome != "hang", f"{call.target} {param}={value!r}: {detail}"
            assert not (outcome == "silent" and module_name in PRIVACY_MODULES), f"{call.target} {param}={value!r} passed silently"

        one()
    finally:
        runner.close()
    assert verdicts
