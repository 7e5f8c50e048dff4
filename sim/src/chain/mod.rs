//! A chain of MAX7219 chips, modelled bit for bit.
