//! `leakhound scan`: files, directories or standard input.

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;

use leakhound::ai::exposure::Checkout;
use leakhound::ai::session;
use leakhound::scan;

use super::scanning::{
    accept_baseline, checkout_top, env_var, report, setup, CommonArgs, Setup, Stage,
};

#[derive(Debug, Args)]
pub(super) struct ScanArgs {
    /// Files or directories to scan; `-` reads standard input.
    #[arg(default_value = ".")]
    paths: Vec<PathBuf>,
    /// Do not honour .gitignore, .ignore and git excludes.
    #[arg(long)]
    no_ignore: bool,
    /// Follow symbolic links.
    #[arg(short = 'L', long = "follow")]
    follow: bool,
    #[command(flatten)]
    common: CommonArgs,
}

pub(super) fn exec(a: ScanArgs) -> Result<u8> {
    let stdin = a.paths.len() == 1 && a.paths[0].as_os_str() == "-";
    let root = if stdin {
        Path::new(".")
    } else {
        a.paths[0].as_path()
    };
    let Setup {
        mut config,
        detector,
        baseline,
    } = setup(&a.common, a.no_ignore, a.follow, root)?;
    config.session = session::from_env(&config.signals, env_var);
    if !stdin {
        let checkout = Checkout::open(&checkout_top(root));
        if !checkout.agents().is_empty() {
            config.exposure = Some(Arc::new(checkout));
        }
    }
    let mut outcome = if stdin {
        let mut bytes = Vec::new();
        io::stdin()
            .read_to_end(&mut bytes)
            .context("cannot read standard input")?;
        scan::scan_bytes(&bytes, "<stdin>", detector, &config)
    } else {
        scan::scan_paths(&a.paths, detector, &config)?
    };
    accept_baseline(&mut outcome, baseline.as_ref(), &config);
    report(outcome, detector, &a.common, &config, Stage::Files)
}
