"""Evaluation: dataset loading, metrics and reports for retrieval and answering quality."""
