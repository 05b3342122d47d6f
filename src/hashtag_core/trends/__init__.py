"""Engagement trends: weekday x hour cells and daily/weekly series."""
