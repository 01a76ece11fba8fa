"""Pure domain: entities, money and GST arithmetic, the status machine. No I/O."""
