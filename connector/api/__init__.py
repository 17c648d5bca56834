"""The Python API a gateway embeds: :class:`~connector.api.connector.Connector` (also importable as
``from connector import Connector``), the reports it returns (:mod:`.reports`) and the accounts CSV
(:mod:`.accounts_csv`).  No click, no rich: the CLI renders what the API returns.
"""
