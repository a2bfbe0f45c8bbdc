"""Pure business decisions: inputs in (order, config, snapshots), a result with reason codes out. No I/O."""
