"""The five tabs: Data, Model, Train, Forecast, Help."""
