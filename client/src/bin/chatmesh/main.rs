//! `chatmesh`: the command-line client.
//!
//! - `main`: the commands and the account ones.
//! - [`chats`]: listing chats, sending, creating groups and direct chats.
//! - [`tail`]: following a chat live.
//! - [`saved`]: calls with the saved login and token refresh.
//! - [`names`]: usernames and user ids.
//! - [`people`]: profile, contacts, blocks, roles, mutes, account deletion.

mod chats;
mod names;
mod people;
mod saved;
mod tail;

use std::io::BufRead as _;
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};
use client::session::{self, Session};
use client::{Client, Tls};

use crate::saved::with_session;

/// Talk to a chatmesh region from the command line.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Base URL of the region.
    #[arg(
        long,
        env = "CHATMESH_SERVER",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    server: String,
    /// Directory holding the saved session [default: $XDG_CONFIG_HOME/chatmesh].
    #[arg(long, env = "CHATMESH_CONFIG_DIR", global = true)]
    config_dir: Option<PathBuf>,
    /// A CA certificate (PEM) to trust for an https server besides the
    /// system's roots, e.g. the one `region-node dev-cert` made; `login`
    /// saves it with the session.
    #[arg(long, env = "CHATMESH_CA_CERT", global = true)]
    ca_cert: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create an account.
    Register {
        /// 3–32 of a-z 0-9 _ . -
        username: String,
        /// Name shown to others.
        #[arg(long)]
        display_name: Option<String>,
        /// The password; read from standard input when absent.
        #[arg(long, env = "CHATMESH_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// Log in as a new device and keep its tokens.
    Login {
        /// The account.
        username: String,
        /// A name for this device.
        #[arg(long, default_value = "chatmesh cli")]
        device_name: String,
        /// The password; read from standard input when absent.
        #[arg(long, env = "CHATMESH_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// Show the logged-in account.
    Whoami,
    /// List this account's devices, or revoke one.
    Devices {
        /// Revoke this device instead of listing.
        #[arg(long)]
        revoke: Option<String>,
    },
    /// Revoke this device and forget its tokens.
    Logout,
    /// List your chats with their unread counts.
    Chats,
    /// Send a message; prints its seq.
    Send {
        /// The chat id.
        chat: String,
        /// The text.
        text: String,
        /// Idempotency key; reuse one to retry a send safely [default: a new one].
        #[arg(long)]
        client_msg_id: Option<String>,
    },
    /// Print a chat's recent messages, then follow it live (Ctrl-C stops).
    Tail {
        /// The chat id.
        chat: String,
        /// Start after this seq.
        #[arg(long, conflicts_with = "last")]
        from_seq: Option<u64>,
        /// Start with the last N messages.
        #[arg(long, default_value_t = 20)]
        last: u64,
    },
    /// Create a group; you become its owner.
    CreateGroup {
        /// 1–256 characters.
        title: String,
        /// A member to add (username or user id); repeat for more.
        #[arg(long = "member", value_name = "USER")]
        members: Vec<String>,
        /// A description.
        #[arg(long)]
        description: Option<String>,
    },
    /// Open the direct chat with a user (created on first use).
    Direct {
        /// Username or user id.
        user: String,
    },
    /// Show your profile, or change it.
    Profile {
        /// Name shown to others.
        #[arg(long)]
        display_name: Option<String>,
        /// Status line ("" clears it).
        #[arg(long)]
        status: Option<String>,
        /// Avatar media id ("" clears it).
        #[arg(long)]
        avatar: Option<String>,
    },
    /// List your contacts with their presence, or add or remove one.
    Contacts {
        /// Add this user (username or id).
        #[arg(long)]
        add: Option<String>,
        /// Remove this user.
        #[arg(long)]
        remove: Option<String>,
    },
    /// List the users you block, or block or unblock one.
    Blocks {
        /// Block this user (username or id).
        #[arg(long)]
        add: Option<String>,
        /// Unblock this user.
        #[arg(long)]
        remove: Option<String>,
    },
    /// Give a group member a role (owner only): admin, member, or owner to
    /// hand the group over.
    Role {
        /// The chat id.
        chat: String,
        /// Username or user id.
        user: String,
        /// admin, member or owner.
        #[arg(value_parser = parse_role)]
        role: protocol::chats::Role,
    },
    /// Mute a chat for some minutes (no push); 0 unmutes.
    Mute {
        /// The chat id.
        chat: String,
        /// How long.
        #[arg(long, default_value_t = 60 * 24 * 365)]
        minutes: u64,
    },
    /// Delete your account in every region (asks for the password).
    DeleteAccount {
        /// The password; read from standard input when absent.
        #[arg(long, env = "CHATMESH_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
}

fn parse_role(role: &str) -> Result<protocol::chats::Role, String> {
    serde_json::from_value(serde_json::Value::String(role.to_owned()))
        .map_err(|_| format!("{role:?} is not a role: admin, member or owner"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let dir = cli.config_dir.clone().unwrap_or_else(session::default_dir);
    let tls = match &cli.ca_cert {
        Some(path) => Tls::with_ca_file(path)?,
        None => Tls::system(),
    };
    match cli.command {
        Command::Register {
            username,
            display_name,
            password,
        } => {
            let password = password_or_stdin(password)?;
            let user_id = Client::with_tls(&cli.server, &tls)?
                .register(&username, &password, display_name.as_deref())
                .await
                .context("register")?;
            println!("registered {username} as {user_id}");
        }
        Command::Login {
            username,
            device_name,
            password,
        } => {
            let password = password_or_stdin(password)?;
            let tokens = Client::with_tls(&cli.server, &tls)?
                .login(&username, &password, Some(&device_name))
                .await
                .context("log in")?;
            let session = Session {
                server: cli.server.clone(),
                user_id: tokens.user_id,
                device_id: tokens.device_id,
                access_token: tokens.access_token,
                refresh_token: tokens.refresh_token,
                // Absolute, so later commands find it from any directory.
                ca_cert: cli
                    .ca_cert
                    .as_deref()
                    .map(std::fs::canonicalize)
                    .transpose()
                    .context("resolve --ca-cert")?,
            };
            session.save(&dir)?;
            println!("logged in as {username} on device {}", session.device_id);
        }
        Command::Whoami => {
            let me = with_session(&dir, |client| async move { client.me().await }).await?;
            println!(
                "{} ({}) user {} in region {}",
                me.username, me.display_name, me.user_id, me.home_region
            );
        }
        Command::Devices {
            revoke: Some(device_id),
        } => {
            with_session(&dir, |client| {
                let device_id = device_id.clone();
                async move { client.revoke_device(&device_id).await }
            })
            .await?;
            println!("revoked {device_id}");
        }
        Command::Devices { revoke: None } => {
            let devices =
                with_session(&dir, |client| async move { client.devices().await }).await?;
            for d in devices {
                let marker = if d.current { "*" } else { " " };
                println!(
                    "{marker} {}  {}  created {}  active {}",
                    d.device_id, d.name, d.created_at, d.last_active_at
                );
            }
        }
        Command::Logout => {
            with_session(&dir, |client| async move { client.logout().await }).await?;
            std::fs::remove_file(Session::path(&dir)).context("remove session file")?;
            println!("logged out");
        }
        Command::Chats => chats::list(&dir).await?,
        Command::Send {
            chat,
            text,
            client_msg_id,
        } => chats::send(&dir, &chat, &text, client_msg_id).await?,
        Command::Tail {
            chat,
            from_seq,
            last,
        } => {
            let start = match from_seq {
                Some(seq) => tail::Start::AfterSeq(seq),
                None => tail::Start::Last(last),
            };
            tail::run(&dir, &chat, start).await?;
        }
        Command::CreateGroup {
            title,
            members,
            description,
        } => chats::create_group(&dir, &title, &members, description.as_deref()).await?,
        Command::Direct { user } => chats::direct(&dir, &user).await?,
        Command::Profile {
            display_name,
            status,
            avatar,
        } => {
            let update = protocol::users::UpdateProfileRequest {
                display_name,
                status_text: status,
                avatar_media_id: avatar,
            };
            people::profile(&dir, update).await?;
        }
        Command::Contacts { add, remove } => {
            people::list(&dir, people::List::Contacts, add, remove).await?;
        }
        Command::Blocks { add, remove } => {
            people::list(&dir, people::List::Blocks, add, remove).await?;
        }
        Command::Role { chat, user, role } => people::role(&dir, &chat, &user, role).await?,
        Command::Mute { chat, minutes } => people::mute(&dir, &chat, minutes).await?,
        Command::DeleteAccount { password } => {
            let password = password_or_stdin(password)?;
            people::delete_account(&dir, &password).await?;
        }
    }
    Ok(())
}

fn password_or_stdin(password: Option<String>) -> anyhow::Result<String> {
    if let Some(password) = password {
        return Ok(password);
    }
    eprint!("password: ");
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("read password")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        bail!("no password given");
    }
    Ok(password)
}
