"""``jupyter-book build`` with Sphinx reading (and so executing) pages in parallel.

Jupyter Book 1 passes ``jobs`` to Sphinx but its command line has no option for it.
This runs the same command with ``--jobs N`` added: Sphinx then reads the pages in
N processes, and myst-nb executes each notebook inline (the ``{eval}`` role needs
that) in the process that reads it. On two cores, two chapters side by side each
took 1.1 to 1.5 times as long as alone, and the quick book 338 s instead of about
540 s serially, measured on a two-core machine.

``make test`` uses it for the quick book. Each process executes its share of the
chapters in order (Sphinx cuts the sorted page list into chunks); a chapter that
reuses another's saved weights (the summary) trains them itself if that chapter
has not finished yet, and says so.

Usage: ``python tools/build_book.py --jobs 2 SOURCE [jupyter-book build options]``
"""

from __future__ import annotations

import argparse
import functools
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], add_help=False)
    parser.add_argument("--jobs", type=int, default=1, help="Sphinx processes (default 1)")
    args, rest = parser.parse_known_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1; got {args.jobs}")

    import jupyter_book.sphinx
    from jupyter_book.cli.main import main as cli

    # The build command imports build_sphinx from jupyter_book.sphinx when it runs.
    jupyter_book.sphinx.build_sphinx = functools.partial(jupyter_book.sphinx.build_sphinx, jobs=args.jobs)
    return cli.main(args=["build", *rest], prog_name="jupyter-book")  # exits with the build's status


if __name__ == "__main__":
    sys.exit(main())
