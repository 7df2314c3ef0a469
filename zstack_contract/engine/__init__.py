"""Wire -> judgement: rules, findings, the oracle, schema validation, doc and query checks."""
