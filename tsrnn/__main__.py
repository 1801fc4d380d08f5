from tsrnn.cli.commands import entry

entry()
