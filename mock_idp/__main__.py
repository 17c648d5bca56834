"""``python -m mock_idp`` runs the ``mock-idp`` command."""

from mock_idp.cli import main

if __name__ == "__main__":
    main(prog_name="mock-idp")
