"""The pytest glue: options, parametrization by exercise mode, the judge, report hooks, the pytest-html
report and the schemathesis cases."""
