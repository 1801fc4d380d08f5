from tsrnn.cli import entry

entry()
