"""OpenVINO adapter: graph-building op table and `compile` (models as compiled OV models)."""
