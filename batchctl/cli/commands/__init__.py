"""One module per command: each parses its flags, makes one core call and hands what comes back to
``batchctl.cli.render``. Commands never import each other; ``batchctl.cli.app`` imports only the one
being run."""
