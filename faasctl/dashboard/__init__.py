"""`faasctl dashboard`: the platform live in the terminal (textual).

textual is imported only by the modules of this package, and this package only by the
`dashboard` command, so no other command pays for it at start. `app.DashboardApp` is the
entry point; it shows any `source.Source` (the local state file or a remote `serve`).
"""
