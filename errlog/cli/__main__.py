"""`python -m errlog.cli`: the same as the `errlog` console script."""

from errlog.cli import main

if __name__ == "__main__":
    main(prog_name="errlog")
