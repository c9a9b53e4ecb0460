fn main() -> std::process::ExitCode {
    rollback::main()
}
