"""Faults on a hop between two services, through Toxiproxy."""
