//! vit-train's tests, one binary: losses and optimiser steps, training runs, resume.

mod common;
mod losses;
mod runs;
mod train;
