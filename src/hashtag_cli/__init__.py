"""The `hashtag-analysis` command line: run the service, import files, load demo data.

The commands are in `hashtag_cli.main`; `python -m hashtag_cli` runs the same app.
"""

__all__: list[str] = []
