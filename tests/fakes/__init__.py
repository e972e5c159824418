"""Fakes of outside services that cannot run here, speaking their real protocols."""
