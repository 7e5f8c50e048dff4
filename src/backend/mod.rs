//! Where SPI bytes and pixels go: the VirtualChain, spilog files, PNGs, the terminal.
