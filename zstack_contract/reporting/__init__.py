"""Judgement -> reports: results, the verdict summary, baselines, HTML and the regression diff."""
