fn main() -> anyhow::Result<()> {
    launchplane::cli::run()
}
