"""Risk scoring: features, the model contenders, the guard, training, the registry, reasons."""
