"""Reusable widgets: plots and a form field with its error label."""
