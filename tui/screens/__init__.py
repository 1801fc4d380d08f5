"""The views of the six tabs (Data, Model, Train, Forecast, Help, Compare) and the Compare screen's dialogs; the
app imports the Data view at start and each other view the first time it is needed (tui.tabs)."""
