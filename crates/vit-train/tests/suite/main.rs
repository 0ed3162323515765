//! vit-train's tests, one binary: losses and optimiser steps, training runs, resume, mixed
//! precision.

mod collective;
mod common;
mod losses;
mod precision;
mod runs;
mod train;
