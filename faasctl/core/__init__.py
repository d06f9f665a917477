"""The platform's logic, shared by the CLI, the REST API and the dashboard.

Front ends call functions here with a `Context` and get plain dicts back (in the seed's
field names where the seed defined them); they never touch the state or the agents
directly.
"""
