fn main() {
    println!("defender-ledger {}", defender_ledger::TOOL_VERSION);
}
