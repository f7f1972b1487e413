//! `leakhound mcp`: flags onto [`leakhound::mcp::Server`].

use std::io;
use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use leakhound::ai::hook;
use leakhound::mcp::Server;

#[derive(Debug, Args)]
pub(super) struct McpArgs {
    /// The project whose settings (leakhound.toml, allowlists, baseline) apply; relative
    /// paths in tool calls start here.
    #[arg(long, value_name = "DIR", default_value = ".")]
    root: PathBuf,
}

pub(super) fn exec(a: McpArgs) -> Result<u8> {
    let root = std::path::absolute(&a.root)?;
    // What an agent asks about is agent activity: the AI policy applies, as in the hooks.
    let loaded = hook::load(&root, Some("mcp")).map_err(|e| anyhow::anyhow!(e))?;
    let server = Server::new(&loaded.detector, &loaded.config, root);
    server.run(io::stdin().lock(), io::stdout().lock())?;
    Ok(0)
}
