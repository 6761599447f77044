pub mod rounding;
