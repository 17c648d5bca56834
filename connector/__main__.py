"""``python -m connector``: the same as the ``idp-connector`` command."""

from connector.cli.main import main

if __name__ == "__main__":
    main()
