"""The pure domain model: stdlib only, frozen dataclasses, Decimal money."""
