"""Models: where one comes from, how it loads as a sequence classifier, the built-in ones, and
a PyTorch predictor over batches."""
