"""One module per revision, oldest first; revision.REVISIONS lists them too."""
