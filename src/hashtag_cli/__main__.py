"""`python -m hashtag_cli ...`: the same as the `hashtag-analysis` command."""

from hashtag_cli.main import app

app(prog_name="hashtag-analysis")
