"""Start each test process on its share of the longest tests.

``make test`` runs the tests in several processes (pytest-xdist, ``--dist worksteal``).
That scheduler first gives each process a contiguous block of the collection (the
first ``len // workers`` tests to the first one, and so on); a process that runs out
of work then takes tests from the end of another's queue. A test that runs for most of
a minute (a chapter on JAX, two simulated devices) and is reached last keeps one process
busy while the others wait, and if the long tests all fell into one block, that process
would run them one after another. So the tests marked ``heavy`` are dealt out in turn to
the front of each process's block. Without xdist they simply run first.
"""

from __future__ import annotations


def pytest_collection_modifyitems(config, items):
    heavy = [item for item in items if item.get_closest_marker("heavy")]
    rest = [item for item in items if not item.get_closest_marker("heavy")]
    workers = max(1, int(getattr(config, "workerinput", {}).get("workercount", 1)))
    ordered, remaining, queue = [], len(items), iter(rest)
    for i in range(workers):
        block = remaining // (workers - i)  # the block worksteal hands worker i first
        remaining -= block
        mine = heavy[i::workers]
        ordered += mine + [item for _, item in zip(range(block - len(mine)), queue)]
    ordered += list(queue)
    assert sorted(map(id, ordered)) == sorted(map(id, items))  # a reordering, nothing lost or doubled
    items[:] = ordered
