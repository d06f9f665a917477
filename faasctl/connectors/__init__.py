"""How faasctl reaches a node's shell and disk: one small interface, several backends.

What to run on a node is data (`faasctl.core.bootstrap` makes Steps); a connector only
knows how to run a command and place a file there. The local connector does it with
subprocess and the file system; the SSH connector with paramiko and rsync.
"""
