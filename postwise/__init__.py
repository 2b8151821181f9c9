"""Postwise: settings, the `postwise` command line and the local stack launcher."""
