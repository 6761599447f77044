pub mod azurite;
pub mod faulty_proxy;
pub mod fs;
