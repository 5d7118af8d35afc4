"""Bad-input campaign specs for labkit.runtime's memory release (the last cell of 04-07).

Picked up by ``tests/calls_shared.py`` through ``campaign.with_topic_files``.
"""

from campaign import Call

EXCLUDED = {
    "labkit.runtime:MemoryRelease": "the result of release_memory (a frozen dataclass)",
}

CALLS = [
    Call("labkit.runtime:release_memory", dict(caches=False)),
    Call("labkit.runtime:resident_memory", dict()),
]
