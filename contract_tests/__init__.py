"""The contract suite of rtc_startrecord: spec, generated models, validator, simulator and the
documented examples checked against each other. Shipped as `rtc_startrecord_contract` so users
can run it in their own CI: `pytest --pyargs rtc_startrecord_contract`."""
