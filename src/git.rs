//! Git access through libgit2: the alignment as it stood at any revision (no
//! checkout needed, so it works in CI and bare clones), the merge base to diff a
//! pull request against, and the history of the alignment directory.

use std::collections::BinaryHeap;

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};

use git2::{Commit, ErrorCode, ObjectType, Oid, Repository, Tree};

use crate::diff::{Change, Class, Prepared, diff_prepared_kinds};
use crate::load::schema_errors::Validators;
use crate::load::{Loaded, RawFile, assemble, load_files, parse_file};
use crate::model::{FileKind, Finding};

/// Why a git operation could not be done; each says what to do next.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// Not inside a repository.
    #[error("`{0}` is not inside a git repository")]
    NotARepository(String),
    /// A revision that does not resolve.
    #[error("revision `{0}` does not exist")]
    NoSuchRevision(String),
    /// A shallow clone that lacks a revision.
    #[error("revision `{0}` is not in this shallow clone")]
    Shallow(String),
    /// The branch has no commits.
    #[error("the current branch has no commits yet")]
    Unborn,
    /// No default branch to find a merge base with.
    #[error("no default branch to compare with: none of origin/HEAD, main, master exists")]
    NoDefaultBranch,
    /// No common ancestor.
    #[error("`{0}` and `{1}` have no common ancestor")]
    NoMergeBase(String, String),
    /// A date that does not parse.
    #[error("`{0}` is neither a revision nor a date")]
    BadDate(String),
    /// Anything else libgit2 reports.
    #[error("git: {0}")]
    Git(#[from] git2::Error),
}

impl GitError {
    /// The next step for the user.
    pub fn help(&self) -> String {
        match self {
            GitError::NotARepository(_) => "run revalign inside the repository that holds the alignment, or pass -C <repo>".into(),
            GitError::NoSuchRevision(r) => format!("check the spelling of `{r}`; `git log --oneline` lists commits, `git branch -a` branches"),
            GitError::Shallow(_) => "fetch the full history: `git fetch --unshallow`, or `fetch-depth: 0` in actions/checkout".into(),
            GitError::Unborn => "commit the alignment first, or name the revisions to compare".into(),
            GitError::NoDefaultBranch => "name the base revision: `revalign diff origin/main`".into(),
            GitError::NoMergeBase(..) => "name the base revision explicitly".into(),
            GitError::BadDate(_) => "give a revision (`v1.2`, `a1b2c3d`, `main~3`) or a date (`2026-03-31`)".into(),
            GitError::Git(_) => "check the repository with `git status` and `git fsck`".into(),
        }
    }
}

/// A commit, as shown in history.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CommitInfo {
    /// Full id.
    pub id: String,
    /// Abbreviated id (7 characters).
    pub short: String,
    /// Committer date, RFC 3339 with the committer's offset.
    pub date: String,
    /// Committer time, seconds since the epoch (for sorting and filtering).
    #[serde(skip)]
    pub time: i64,
    /// Author name.
    pub author: String,
    /// Author e-mail.
    pub email: String,
    /// First line of the message.
    pub subject: String,
    /// The pull request the subject or merge names (`Merge pull request #12`, `(#12)`).
    pub pull_request: Option<u64>,
}

/// The pull request number a commit subject names, if any.
pub fn pull_request(subject: &str) -> Option<u64> {
    let digits = |s: &str| -> Option<u64> {
        let n: String = s.chars().take_while(char::is_ascii_digit).collect();
        n.parse().ok()
    };
    if let Some(rest) = subject.strip_prefix("Merge pull request #") {
        return digits(rest);
    }
    let at = subject.rfind("(#")?;
    let rest = &subject[at + 2..];
    let n = digits(rest)?;
    rest[n.to_string().len()..].starts_with(')').then_some(n)
}

fn rfc3339(seconds: i64, offset_minutes: i32) -> String {
    let offset =
        jiff::tz::Offset::from_seconds(offset_minutes * 60).unwrap_or(jiff::tz::Offset::UTC);
    jiff::Timestamp::from_second(seconds)
        .map(|t| {
            t.to_zoned(jiff::tz::TimeZone::fixed(offset))
                .strftime("%Y-%m-%dT%H:%M:%S%:z")
                .to_string()
        })
        .unwrap_or_default()
}

fn info(c: &Commit<'_>) -> CommitInfo {
    let id = c.id().to_string();
    let subject = String::from_utf8_lossy(c.summary_bytes().unwrap_or_default()).into_owned();
    let author = c.author();
    CommitInfo {
        short: id[..7.min(id.len())].to_string(),
        id,
        date: rfc3339(c.time().seconds(), c.time().offset_minutes()),
        time: c.time().seconds(),
        author: String::from_utf8_lossy(author.name_bytes()).into_owned(),
        email: String::from_utf8_lossy(author.email_bytes()).into_owned(),
        pull_request: pull_request(&subject),
        subject,
    }
}

/// A repository opened for reading alignments.
pub struct Repo {
    repo: Repository,
    blobs: Blobs,
    /// Sides of the history diff by directory tree. All are kept until the
    /// repository is dropped: the second thread prepares them all ahead anyway.
    prepared: HashMap<Option<Oid>, Rc<Side>>,
}

/// Prepares sides of a history diff from directory trees, each file parsed
/// and prepared once per blob and kind (a blob may sit under two names).
/// The history walk runs a second one on its own thread and repository.
struct Blobs {
    validators: Arc<Validators>,
    parsed: HashMap<(Oid, Option<FileKind>), Rc<BlobSide>>,
}

impl Blobs {
    /// One side of a history diff, from the directory's tree id.
    fn side(&mut self, repo: &Repository, tree: Option<Oid>) -> Result<Side, GitError> {
        let mut warnings = Vec::new();
        let mut parts = Vec::new();
        let mut files = Vec::new();
        if let Some(tree_id) = tree {
            for (rel, oid) in tree_files(repo, tree_id)? {
                let key = (oid, FileKind::of_path(&rel));
                if !self.parsed.contains_key(&key) {
                    let bytes = repo.find_blob(oid)?.content().to_vec();
                    let raw = RawFile {
                        name: rel.clone(),
                        rel: rel.clone(),
                        bytes: Ok(bytes),
                    };
                    let (source, parsed) = parse_file(raw, 0, &self.validators, false);
                    // Problems reading the file itself, kept with the blob so every
                    // commit that brings this blob in can say so.
                    let problems = parsed
                        .findings
                        .iter()
                        .filter(|f| f.code != crate::model::Code::UnknownFile)
                        .map(|f| problem_line(&source, f))
                        .collect();
                    let prepared = Prepared::of(&assemble([(0, &parsed)]));
                    self.parsed.insert(key, Rc::new((prepared, problems)));
                }
                if let Some(p) = self.parsed.get(&key) {
                    for problem in &p.1 {
                        warnings.push((oid, format!("{rel}:{problem}")));
                    }
                    parts.push(Rc::clone(p));
                }
                files.push(key);
            }
        }
        Ok(Side {
            prepared: Prepared::merge(parts.iter().map(|p| &p.0)),
            files,
            warnings,
        })
    }
}

/// One file as the history walk keeps it per blob: its entities prepared for
/// diffing, and the problems reading it (`line:col: message [code]`).
type BlobSide = (Prepared, Vec<String>);

/// Sides prepared ahead by the history walk's second thread, by directory tree.
type Ahead = Receiver<(Oid, Result<Side, GitError>)>;

/// One side of a history diff: the prepared alignment, the files it was made of
/// (blob and kind), and the problems reading them.
struct Side {
    prepared: Prepared,
    files: Vec<(Oid, Option<FileKind>)>,
    /// Problems reading its files: the blob, and `path:line:col: message [code]`.
    warnings: Vec<(Oid, String)>,
}

impl Side {
    /// The kinds of file whose blobs differ between two sides.
    fn changed_kinds(&self, other: &Side) -> Vec<FileKind> {
        FileKind::ALL
            .into_iter()
            .filter(|k| {
                let of = |s: &Side| {
                    s.files
                        .iter()
                        .filter(|(_, fk)| *fk == Some(*k))
                        .map(|(o, _)| *o)
                        .collect::<Vec<_>>()
                };
                of(self) != of(other)
            })
            .collect()
    }
}

/// One commit of the history with the semantic changes it made.
#[derive(Debug, serde::Serialize)]
pub struct Entry {
    /// The commit.
    pub commit: CommitInfo,
    /// What changed in the agreement.
    pub changes: Vec<Change>,
    /// Files that could not be read at this commit.
    pub warnings: Vec<String>,
}

/// Options of the history walk.
#[derive(Debug, Default)]
pub struct HistoryOptions {
    /// Follow only first parents: a merged pull request is one entry.
    pub first_parent: bool,
    /// Only commits at or after this time (seconds since the epoch).
    pub since: Option<i64>,
    /// Only commits at or before this time.
    pub until: Option<i64>,
    /// Only changes to these entity ids.
    pub ids: Vec<String>,
}

/// The history of the alignment directory.
#[derive(Debug, serde::Serialize)]
pub struct History {
    /// Newest first.
    pub entries: Vec<Entry>,
    /// The shallow clone's boundary, where history stops (not a commit that added everything).
    pub shallow_boundary: Option<String>,
    /// Requested ids that no change in the range names and HEAD does not
    /// define, each with the closest id HEAD defines.
    #[serde(skip)]
    pub unknown_ids: Vec<(String, Option<String>)>,
}

impl Repo {
    /// Opens the repository containing `path`.
    pub fn discover(path: &Path) -> Result<Repo, GitError> {
        // Like git itself, trust the object store instead of re-hashing every
        // object read; SHA-1 of each of 20,000 trees was a third of `history`.
        git2::opts::strict_hash_verification(false);
        git2::opts::enable_caching(false);
        let repo = Repository::discover(path).map_err(|e| match e.code() {
            ErrorCode::NotFound => GitError::NotARepository(path.display().to_string()),
            _ => GitError::Git(e),
        })?;
        Ok(Repo {
            repo,
            blobs: Blobs {
                validators: Arc::new(Validators::new()),
                parsed: HashMap::default(),
            },
            prepared: HashMap::default(),
        })
    }

    /// The text of a file as committed at HEAD (`None`: no such file, or no
    /// commit yet). `path` is relative to the repository root.
    pub fn file_at_head(&self, path: &str) -> Result<Option<String>, GitError> {
        let head = match self.commit("HEAD") {
            Ok(c) => c,
            Err(GitError::Unborn) => return Ok(None),
            Err(e) => return Err(e),
        };
        let tree = head.tree().map_err(GitError::Git)?;
        let Ok(entry) = tree.get_path(Path::new(path)) else {
            return Ok(None);
        };
        let blob = entry
            .to_object(&self.repo)
            .and_then(|o| o.peel_to_blob())
            .map_err(GitError::Git)?;
        Ok(Some(String::from_utf8_lossy(blob.content()).into_owned()))
    }

    /// The working tree, if the repository has one.
    pub fn workdir(&self) -> Option<&Path> {
        self.repo.workdir()
    }

    /// The alignment directory when none is given: `alignment` (below `cwd`) when
    /// it exists in the working tree or at any of `commits`, else `.`. A branch
    /// that deletes `alignment/` must not fall back to comparing the whole repository.
    pub fn default_dir(&self, cwd: &Path, commits: &[&Commit<'_>]) -> String {
        let candidate = self.relative_dir(cwd, Path::new("alignment"));
        let in_tree = commits
            .iter()
            .any(|c| matches!(dir_tree_id(c, &candidate), Ok(Some(_))));
        if cwd.join("alignment").is_dir() || in_tree {
            candidate
        } else {
            self.relative_dir(cwd, Path::new("."))
        }
    }

    /// The alignment directory relative to the repository root, from a path
    /// relative to `cwd`.
    pub fn relative_dir(&self, cwd: &Path, dir: &Path) -> String {
        let Some(workdir) = self.workdir() else {
            return dir.to_string_lossy().trim_matches('/').to_string();
        };
        let canon = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
        let abs = canon(&cwd.join(dir));
        let rel = abs
            .strip_prefix(canon(workdir))
            .map(Path::to_path_buf)
            .unwrap_or_else(|_| PathBuf::from(dir));
        let rel = rel.to_string_lossy().replace('\\', "/");
        if rel.is_empty() { ".".into() } else { rel }
    }

    fn shallow_ids(&self) -> Vec<Oid> {
        if !self.repo.is_shallow() {
            return Vec::new();
        }
        std::fs::read_to_string(self.repo.commondir().join("shallow"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| Oid::from_str(l.trim()).ok())
            .collect()
    }

    /// Resolves a revision to a commit.
    pub fn commit(&self, spec: &str) -> Result<Commit<'_>, GitError> {
        if spec == "HEAD"
            && let Err(e) = self.repo.head()
            && e.code() == ErrorCode::UnbornBranch
        {
            return Err(GitError::Unborn);
        }
        match self
            .repo
            .revparse_single(spec)
            .and_then(|o| o.peel_to_commit())
        {
            Ok(c) => Ok(c),
            Err(e)
                if matches!(
                    e.code(),
                    ErrorCode::NotFound | ErrorCode::InvalidSpec | ErrorCode::Ambiguous
                ) =>
            {
                // Only an ancestor (`HEAD~3`, `main^`) or a commit id can be cut off
                // by a shallow clone; an unknown name is just unknown.
                let cut_off = spec.contains(['~', '^'])
                    || (spec.len() >= 7 && spec.bytes().all(|b| b.is_ascii_hexdigit()));
                if self.repo.is_shallow() && cut_off {
                    Err(GitError::Shallow(spec.to_string()))
                } else {
                    Err(GitError::NoSuchRevision(spec.to_string()))
                }
            }
            Err(e) if e.code() == ErrorCode::UnbornBranch => Err(GitError::Unborn),
            Err(e) => Err(GitError::Git(e)),
        }
    }

    /// The default base of a diff: the merge base of HEAD with the default
    /// branch (`origin/HEAD`, else `main`, else `master`).
    pub fn default_base(&self) -> Result<Commit<'_>, GitError> {
        let head = self.commit("HEAD")?;
        let branch = [
            "origin/HEAD",
            "main",
            "master",
            "origin/main",
            "origin/master",
        ]
        .into_iter()
        .find_map(|name| {
            self.repo
                .revparse_single(name)
                .ok()
                .and_then(|o| o.peel_to_commit().ok())
                .map(|c| (name, c))
        });
        let Some((name, target)) = branch else {
            return Err(if self.repo.is_shallow() {
                GitError::Shallow("main".into())
            } else {
                GitError::NoDefaultBranch
            });
        };
        match self.repo.merge_base(head.id(), target.id()) {
            Ok(oid) => Ok(self.repo.find_commit(oid)?),
            Err(_) if self.repo.is_shallow() => Err(GitError::Shallow(format!(
                "the merge base of HEAD and {name}"
            ))),
            Err(_) => Err(GitError::NoMergeBase("HEAD".into(), name.into())),
        }
    }

    /// The last first-parent commit at or before a time.
    pub fn commit_at_time(&self, until: i64) -> Result<Commit<'_>, GitError> {
        let head = self.commit("HEAD")?;
        let mut walk = self.repo.revwalk()?;
        walk.push(head.id())?;
        walk.simplify_first_parent()?;
        for oid in walk {
            let c = self.repo.find_commit(oid?)?;
            if c.time().seconds() <= until {
                return Ok(c);
            }
        }
        Err(GitError::NoSuchRevision(format!(
            "a commit before {}",
            rfc3339(until, 0)
        )))
    }

    fn dir_tree<'r>(
        &'r self,
        commit: &Commit<'r>,
        dir: &str,
    ) -> Result<Option<Tree<'r>>, GitError> {
        let root = commit.tree()?;
        if dir == "." || dir.is_empty() {
            return Ok(Some(root));
        }
        match root.get_path(Path::new(dir)) {
            Ok(entry) if entry.kind() == Some(ObjectType::Tree) => {
                Ok(Some(self.repo.find_tree(entry.id())?))
            }
            Ok(_) => Ok(None),
            Err(e) if e.code() == ErrorCode::NotFound => Ok(None),
            Err(e) => Err(GitError::Git(e)),
        }
    }

    fn raw_files(&self, commit: &Commit<'_>, dir: &str) -> Result<Vec<(RawFile, Oid)>, GitError> {
        let Some(tree) = self.dir_tree(commit, dir)? else {
            return Ok(Vec::new());
        };
        let short = &commit.id().to_string()[..7];
        let prefix = if dir == "." {
            String::new()
        } else {
            format!("{dir}/")
        };
        tree_files(&self.repo, tree.id())?
            .into_iter()
            .map(|(rel, oid)| {
                let blob = self.repo.find_blob(oid)?;
                Ok((
                    RawFile {
                        name: format!("{short}:{prefix}{rel}"),
                        rel,
                        bytes: Ok(blob.content().to_vec()),
                    },
                    oid,
                ))
            })
            .collect()
    }

    /// The alignment at a commit, with its files (named `a1b2c3d:alignment/sla.toml`)
    /// and what is wrong with them.
    pub fn load_at(&self, commit: &Commit<'_>, dir: &str) -> Result<Loaded, GitError> {
        let raw = self
            .raw_files(commit, dir)?
            .into_iter()
            .map(|(r, _)| r)
            .collect();
        Ok(load_files(raw))
    }

    /// One side of a history diff, from the directory's tree id: prepared once
    /// per tree, by the history walk's second thread where it was sent there.
    fn prepared_at(
        &mut self,
        tree: Option<Oid>,
        ahead: &mut Option<Ahead>,
    ) -> Result<Rc<Side>, GitError> {
        loop {
            if let Some(p) = self.prepared.get(&tree) {
                return Ok(Rc::clone(p));
            }
            // Sides arrive in the order the walk met their trees; wait for this
            // one, keeping the others for later. Without a second thread (or a
            // tree it was not given) the side is prepared here.
            let (Some(_), Some(rx)) = (tree, ahead.as_ref()) else {
                break;
            };
            match rx.recv() {
                Ok((id, side)) => {
                    self.prepared.insert(Some(id), Rc::new(side?));
                }
                Err(_) => *ahead = None,
            }
        }
        let side = Rc::new(self.blobs.side(&self.repo, tree)?);
        self.prepared.insert(tree, Rc::clone(&side));
        Ok(side)
    }

    /// Starts the thread that prepares sides ahead of the history diff, on its
    /// own handle of the repository. `None` where it cannot start: the sides are
    /// then prepared as they are needed.
    fn preparer(&self) -> (Option<Sender<Oid>>, Option<Ahead>) {
        let (tx, trees) = channel::<Oid>();
        let (done, rx) = channel();
        let path = self.repo.path().to_path_buf();
        let validators = Arc::clone(&self.blobs.validators);
        let started = std::thread::Builder::new()
            .name("prepare".into())
            .spawn(move || {
                let Ok(repo) = Repository::open(&path) else {
                    return;
                };
                let mut blobs = Blobs {
                    validators,
                    parsed: HashMap::default(),
                };
                for tree in trees {
                    let side = blobs.side(&repo, Some(tree));
                    if done.send((tree, side)).is_err() {
                        break;
                    }
                }
                // Freed here, off the walk's thread, once the walk has ended.
                drop(blobs);
            });
        match started {
            Ok(_) => (Some(tx), Some(rx)),
            Err(_) => (None, None),
        }
    }

    /// The commits that changed the agreement, newest first, with their changes.
    pub fn history(&mut self, dir: &str, opts: &HistoryOptions) -> Result<History, GitError> {
        let (head_id, head_time) = {
            let head = self.commit("HEAD")?;
            (head.id(), head.time().seconds())
        };
        let shallow = self.shallow_ids();
        // Newest first by committer time, like `git log`. Each commit object and
        // its root tree are read once: the parents' times come from the commits
        // read when they are queued, kept until they are visited.
        let mut queue: BinaryHeap<(i64, Oid)> = BinaryHeap::new();
        // Commits and trees are read raw from the object database: the walk
        // needs only ids, parents, times and subjects, and libgit2's parsed
        // objects (and their cache) cost more than the reading itself.
        let odb = self.repo.odb()?;
        let mut pending: HashMap<Oid, RawCommit> = HashMap::default();
        queue.push((head_time, head_id));
        pending.insert(head_id, RawCommit::read(&odb, head_id)?);
        let mut visited: Vec<(Oid, Vec<Oid>)> = Vec::new();
        let mut tree_ids: HashMap<Oid, Option<Oid>> = HashMap::default();
        let mut walked: HashSet<Oid> = HashSet::default();
        // The pull request each side-branch commit came in through.
        let mut via_pr: HashMap<Oid, u64> = HashMap::default();
        let mut first_parent_line: HashSet<Oid> = HashSet::default();
        let mut next_on_line = Some(head_id);
        // Where the directory is at commits before it was moved, and the
        // directory tree of the child that queued each commit.
        let mut dirs: HashMap<Oid, String> = HashMap::default();
        let mut child_trees: HashMap<Oid, (Oid, Oid)> = HashMap::default();
        let mut boundary = None;
        // A second thread prepares each directory tree the walk meets (parsing,
        // validating, keying entities) while the walk goes on.
        let (to_prepare, mut ahead) = self.preparer();
        let mut sent = HashSet::default();
        while let Some((time, oid)) = queue.pop() {
            let Some(commit) = pending.remove(&oid) else {
                continue;
            };
            if next_on_line == Some(oid) {
                first_parent_line.insert(oid);
                next_on_line = commit.parents.first().copied();
            }
            let on_line = first_parent_line.contains(&oid);
            if let Some(pr) = pull_request(&commit.subject)
                .or_else(|| via_pr.get(&oid).copied().filter(|_| !on_line))
            {
                // Commits brought in by a merge's other parents came through its PR.
                for p in commit.parents.iter().skip(1) {
                    via_pr.entry(*p).or_insert(pr);
                }
                if !on_line && let Some(p) = commit.parents.first() {
                    via_pr.entry(*p).or_insert(pr);
                }
            }
            // The directory at this commit: where its child had it, unless it
            // was moved here (followed like `git log --follow` follows a file).
            let mut here = dirs.get(&oid).cloned().unwrap_or_else(|| dir.to_string());
            let mut tree_id = raw_dir_tree(&odb, commit.tree, &here)?;
            if tree_id.is_none()
                && let Some((child, child_tree)) = child_trees.get(&oid)
                && let Some((moved, id)) = moved_dir(
                    &self.repo.find_commit(oid)?,
                    &self.repo.find_commit(*child)?,
                    *child_tree,
                )?
            {
                here = moved;
                tree_id = Some(id);
            }
            if here != dir {
                dirs.insert(oid, here.clone());
            }
            if let (Some(t), Some(tx)) = (tree_id, &to_prepare)
                && sent.insert(t)
            {
                let _ = tx.send(t);
            }
            if opts.since.is_some_and(|s| time < s) {
                tree_ids.insert(oid, tree_id);
                continue; // older than asked for: needed only as a parent
            }
            walked.insert(oid);
            tree_ids.insert(oid, tree_id);
            if shallow.contains(&oid) {
                // The boundary of a shallow clone has no parents here, but it did
                // not add everything: history is cut, not begun.
                boundary = Some(oid.to_string());
                continue;
            }
            let mut parents = commit.parents;
            if opts.first_parent {
                parents.truncate(1);
            }
            for p in &parents {
                if !tree_ids.contains_key(p) && !pending.contains_key(p) {
                    let pc = RawCommit::read(&odb, *p)?;
                    queue.push((pc.time, *p));
                    pending.insert(*p, pc);
                    if here != dir {
                        dirs.insert(*p, here.clone());
                    }
                    if let Some(t) = tree_id {
                        child_trees.insert(*p, (oid, t));
                    }
                }
            }
            if opts.until.is_none_or(|u| time <= u) {
                visited.push((oid, parents));
            }
        }
        drop(to_prepare);
        drop(pending);
        drop(odb);
        let mut changed = Vec::new();
        for (oid, parents) in visited {
            let mine = tree_ids.get(&oid).copied().flatten();
            // A commit changed the directory when it differs from its parent; a
            // merge only when it differs from every parent (it resolved something).
            let differs = if parents.is_empty() {
                mine.is_some()
            } else {
                parents
                    .iter()
                    .all(|p| tree_ids.get(p).copied().flatten() != mine)
            };
            if differs {
                changed.push((oid, parents));
            }
        }
        let mut entries = Vec::new();
        // The requested ids some change in the range named.
        let mut seen: HashSet<String> = HashSet::default();
        for (oid, parents) in changed {
            let short = &oid.to_string()[..7];
            let tree_of = |c: &Oid| tree_ids.get(c).copied().flatten();
            let after = self.prepared_at(tree_of(&oid), &mut ahead)?;
            // Problems of files this commit brought in (not those it inherited).
            let here = dirs.get(&oid).map_or(dir, String::as_str);
            let prefix = if here == "." {
                String::new()
            } else {
                format!("{here}/")
            };
            let before = match parents.first() {
                Some(p) => self.prepared_at(tree_of(p), &mut ahead)?,
                None => self.prepared_at(None, &mut ahead)?,
            };
            let kinds = before.changed_kinds(&after);
            let mut changes = diff_prepared_kinds(&before.prepared, &after.prepared, &kinds);
            let mut warnings: Vec<String> = after
                .warnings
                .iter()
                .filter(|(blob, _)| !before.files.iter().any(|(b, _)| b == blob))
                .map(|(_, w)| format!("{short}:{prefix}{w}"))
                .collect();
            // A merge (outside --first-parent) shows only what no parent
            // explains: the changes it made itself while resolving.
            // A parent left out by --since is not listed, so its changes stay with the merge.
            for p in parents.iter().skip(1).filter(|p| walked.contains(p)) {
                let side = self.prepared_at(tree_of(p), &mut ahead)?;
                let other = diff_prepared_kinds(
                    &side.prepared,
                    &after.prepared,
                    &side.changed_kinds(&after),
                );
                changes.retain(|c| {
                    other.iter().any(|o| {
                        o.kind == c.kind && o.id == c.id && o.field == c.field && o.new == c.new
                    })
                });
            }
            // References this commit leaves dangling that no parent had. Above
            // all for merges: two sides each consistent can merge into an
            // inconsistent whole (one removes a metric, the other starts
            // using it), which neither side's changes show.
            // Most commits leave nothing dangling: the parents are looked at
            // only when this one does (the first parent is `before`).
            let dangling = after.prepared.dangling();
            if !dangling.is_empty() {
                let mut inherited: std::collections::BTreeSet<_> =
                    before.prepared.dangling().into_keys().collect();
                for p in parents.iter().skip(1) {
                    inherited.extend(
                        self.prepared_at(tree_of(p), &mut ahead)?
                            .prepared
                            .dangling()
                            .into_keys(),
                    );
                }
                for ((kind, id), users) in dangling {
                    let reported = changes
                        .iter()
                        .any(|c| c.kind == kind && c.id == id && c.class == Class::Breaking);
                    if inherited.contains(&(kind, id.clone())) || reported {
                        continue;
                    }
                    changes.push(Change {
                        kind,
                        id: id.clone(),
                        field: None,
                        old: None,
                        new: None,
                        class: Class::Breaking,
                        note: Some(format!(
                            "{} now refer to {} `{id}`, which does not exist here{}",
                            users.join(", "),
                            kind.as_str(),
                            if parents.len() > 1 {
                                " (each merged side alone was consistent)"
                            } else {
                                ""
                            }
                        )),
                    });
                }
            }
            if !opts.ids.is_empty() {
                for c in &changes {
                    seen.extend(opts.ids.iter().filter(|id| names(id, &c.id)).cloned());
                }
                changes.retain(|c| opts.ids.iter().any(|id| names(id, &c.id)));
                if changes.is_empty() {
                    continue;
                }
            }
            if changes.is_empty() && warnings.is_empty() {
                continue; // reformatting or comments only: the agreement did not change
            }
            warnings.dedup();
            let commit = self.repo.find_commit(oid)?;
            let mut commit_info = info(&commit);
            if commit_info.pull_request.is_none() && !first_parent_line.contains(&oid) {
                commit_info.pull_request = via_pr.get(&oid).copied();
            }
            entries.push(Entry {
                commit: commit_info,
                changes,
                warnings,
            });
        }
        // An id neither changed in the range nor defined at HEAD is a typo more
        // likely than a quiet entity: say so rather than print an empty log.
        let mut unknown_ids = Vec::new();
        if opts.ids.iter().any(|id| !seen.contains(id)) {
            let head = self.prepared_at(tree_ids.get(&head_id).copied().flatten(), &mut ahead)?;
            let known: Vec<&str> = head.prepared.ids().collect();
            for id in opts.ids.iter().filter(|id| !seen.contains(*id)) {
                if !known.iter().any(|k| names(id, k)) {
                    let near = known
                        .iter()
                        .filter(|k| strsim::jaro_winkler(id, k) > 0.8)
                        .max_by(|a, b| {
                            strsim::jaro_winkler(id, a).total_cmp(&strsim::jaro_winkler(id, b))
                        })
                        .map(|k| k.to_string());
                    unknown_ids.push((id.clone(), near));
                }
            }
        }
        Ok(History {
            entries,
            shallow_boundary: boundary,
            unknown_ids,
        })
    }

    /// Where the alignment directory `dir` of `head` (HEAD for the working
    /// tree) was at `base`, when `base` does not have it but had it elsewhere:
    /// the move is followed, as `history` follows it.
    pub fn moved_from(
        &self,
        base: &Commit<'_>,
        head: Option<&Commit<'_>>,
        dir: &str,
    ) -> Result<Option<String>, GitError> {
        if dir_tree_id(base, dir)?.is_some() {
            return Ok(None);
        }
        let head = match head {
            Some(c) => c.clone(),
            None => match self.commit("HEAD") {
                Ok(c) => c,
                Err(_) => return Ok(None),
            },
        };
        // A head without the directory (only in the working tree) matches no tree.
        let head_tree = dir_tree_id(&head, dir)?.unwrap_or(Oid::ZERO_SHA1);
        Ok(moved_dir(base, &head, head_tree)?.map(|(path, _)| path))
    }

    /// Information about a commit.
    pub fn info(&self, commit: &Commit<'_>) -> CommitInfo {
        info(commit)
    }
}

/// The alignment files in a directory tree: top-level `.toml` files, and any
/// below a folder named after a file kind. `(path relative to dir, blob id)`.
fn tree_files(repo: &Repository, tree: Oid) -> Result<Vec<(String, Oid)>, GitError> {
    let mut out = Vec::new();
    let mut stack: Vec<(Oid, String, usize)> = vec![(tree, String::new(), 0)];
    while let Some((oid, prefix, depth)) = stack.pop() {
        let t = repo.find_tree(oid)?;
        for entry in t.iter() {
            let name = String::from_utf8_lossy(entry.name_bytes()).into_owned();
            let name = name.as_str();
            if name.starts_with('.') {
                continue;
            }
            let rel = if prefix.is_empty() {
                name.to_string()
            } else {
                format!("{prefix}/{name}")
            };
            match entry.kind() {
                Some(ObjectType::Tree) if crate::load::descend(name, depth) => {
                    stack.push((entry.id(), rel, depth + 1));
                }
                Some(ObjectType::Blob) if name.ends_with(".toml") => out.push((rel, entry.id())),
                _ => {}
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Whether a requested id names a change's id: the id itself, a goal version
/// (`id@2026-04-01`), or a criterion's code (`kind:code`).
fn names(id: &str, change_id: &str) -> bool {
    change_id == id
        || change_id
            .strip_prefix(id)
            .is_some_and(|rest| rest.starts_with('@'))
        || change_id
            .split_once(':')
            .is_some_and(|(_, code)| code == id)
}

/// What the history walk needs of a commit, parsed from its raw object.
struct RawCommit {
    tree: Oid,
    parents: Vec<Oid>,
    /// Committer time, seconds since the epoch.
    time: i64,
    /// The first line of the message.
    subject: String,
}

impl RawCommit {
    fn read(odb: &git2::Odb<'_>, oid: Oid) -> Result<RawCommit, GitError> {
        let obj = odb.read(oid)?;
        let bad = || {
            GitError::Git(git2::Error::from_str(&format!(
                "commit {oid} does not parse"
            )))
        };
        let data = obj.data();
        let (head, message) = match data.windows(2).position(|w| w == b"\n\n") {
            Some(i) => (&data[..i], &data[i + 2..]),
            None => (data, &b""[..]),
        };
        let mut tree = None;
        let mut parents = Vec::new();
        let mut time = None;
        for line in head.split(|b| *b == b'\n') {
            let hex = |rest: &[u8]| {
                std::str::from_utf8(rest)
                    .ok()
                    .and_then(|h| Oid::from_str(h.trim()).ok())
            };
            if let Some(rest) = line.strip_prefix(b"tree ") {
                tree = hex(rest);
            } else if let Some(rest) = line.strip_prefix(b"parent ") {
                parents.push(hex(rest).ok_or_else(bad)?);
            } else if let Some(rest) = line.strip_prefix(b"committer ") {
                // `Name <email> 1767600000 +0100`: the time is the second-last word.
                let text = String::from_utf8_lossy(rest);
                time = text.rsplit(' ').nth(1).and_then(|t| t.parse::<i64>().ok());
            }
        }
        let subject = message.split(|b| *b == b'\n').next().unwrap_or_default();
        Ok(RawCommit {
            tree: tree.ok_or_else(bad)?,
            parents,
            time: time.ok_or_else(bad)?,
            subject: String::from_utf8_lossy(subject).into_owned(),
        })
    }
}

/// The id of the tree at `path` below a root tree, read raw (`None`: no such directory).
fn raw_dir_tree(odb: &git2::Odb<'_>, root: Oid, path: &str) -> Result<Option<Oid>, GitError> {
    if path == "." || path.is_empty() {
        return Ok(Some(root));
    }
    let mut tree = root;
    for name in path.split('/').filter(|p| !p.is_empty()) {
        let obj = odb.read(tree)?;
        let mut data = obj.data();
        let mut found = None;
        // Entries: `<octal mode> <name>\0<20-byte id>`.
        while let Some(sp) = data.iter().position(|b| *b == b' ') {
            let Some(nul) = data[sp..].iter().position(|b| *b == 0).map(|i| sp + i) else {
                break;
            };
            if data.len() < nul + 21 {
                break;
            }
            if &data[sp + 1..nul] == name.as_bytes() {
                let is_tree = &data[..sp] == b"40000";
                found = is_tree
                    .then(|| Oid::from_bytes(&data[nul + 1..nul + 21]).ok())
                    .flatten();
                break;
            }
            data = &data[nul + 21..];
        }
        match found {
            Some(id) => tree = id,
            None => return Ok(None),
        }
    }
    Ok(Some(tree))
}

/// The id of the alignment directory's tree at a commit (`None`: no such directory).
fn dir_tree_id(commit: &Commit<'_>, dir: &str) -> Result<Option<Oid>, GitError> {
    if dir == "." || dir.is_empty() {
        return Ok(Some(commit.tree_id()));
    }
    let root = commit.tree()?;
    match root.get_path(Path::new(dir)) {
        Ok(entry) if entry.kind() == Some(ObjectType::Tree) => Ok(Some(entry.id())),
        Ok(_) => Ok(None),
        Err(e) if e.code() == ErrorCode::NotFound => Ok(None),
        Err(e) => Err(GitError::Git(e)),
    }
}

/// Where the alignment directory was at a commit before it was moved: the
/// directory whose tree is the child's (moved unchanged), else the shallowest
/// one holding a `revalign.toml` that the child no longer has (moved and
/// edited in one commit). A directory the child still has is another
/// alignment (an example, another team's), not this one's past.
fn moved_dir(
    commit: &Commit<'_>,
    child: &Commit<'_>,
    child_tree: Oid,
) -> Result<Option<(String, Oid)>, GitError> {
    let root = commit.tree()?;
    let mut same: Option<(String, Oid)> = None;
    let mut manifests: Vec<String> = Vec::new();
    root.walk(git2::TreeWalkMode::PreOrder, |parent, entry| {
        let name = entry.name().unwrap_or_default();
        if entry.kind() == Some(ObjectType::Tree) && entry.id() == child_tree {
            same = Some((format!("{parent}{name}"), entry.id()));
            return git2::TreeWalkResult::Abort;
        }
        if name == "revalign.toml" && !parent.is_empty() {
            manifests.push(parent.trim_end_matches('/').to_string());
        }
        git2::TreeWalkResult::Ok
    })
    .or_else(|e| if same.is_some() { Ok(()) } else { Err(e) })?;
    if same.is_some() {
        return Ok(same);
    }
    manifests.sort_by_key(|p| p.matches('/').count());
    for path in manifests {
        if dir_tree_id(child, &path)?.is_none()
            && let Some(id) = dir_tree_id(commit, &path)?
        {
            return Ok(Some((path, id)));
        }
    }
    Ok(None)
}

fn problem_line(source: &crate::load::SourceFile, f: &Finding) -> String {
    let (line, col) = f
        .place
        .as_ref()
        .and_then(|p| p.span.as_ref())
        .map_or((1, 1), |s| source.line_col(s.start));
    format!("{line}:{col}: {} [{}]", f.message, f.code)
}

/// The agreement's versions along HEAD's first-parent history, for judging
/// each period by the targets in force at its end (`check --as-declared`).
/// A version is named by the commit that introduced it: the oldest commit of
/// the unbroken run with the same directory tree.
pub struct Declared<'r> {
    repo: &'r Repo,
    dir: String,
    /// First-parent commits, newest first: time (s), id, directory tree.
    commits: Vec<(i64, Oid, Option<Oid>)>,
    versions: HashMap<Oid, Arc<crate::check::Version>>,
}

impl Repo {
    /// The versions of the alignment directory `dir` (relative to the root).
    pub fn declared(&self, dir: &str) -> Result<Declared<'_>, GitError> {
        let head = self.commit("HEAD")?;
        let mut walk = self.repo.revwalk()?;
        walk.push(head.id())?;
        walk.simplify_first_parent()?;
        let mut commits = Vec::new();
        for oid in walk {
            let c = self.repo.find_commit(oid?)?;
            commits.push((c.time().seconds(), c.id(), dir_tree_id(&c, dir)?));
        }
        Ok(Declared {
            repo: self,
            dir: dir.to_string(),
            commits,
            versions: HashMap::default(),
        })
    }
}

impl crate::check::Declarations for Declared<'_> {
    fn at(
        &mut self,
        t: crate::model::calendar::Millis,
    ) -> Result<Option<Arc<crate::check::Version>>, crate::check::CheckError> {
        let secs = t.div_euclid(1000);
        let fail = |e: GitError| crate::check::CheckError {
            message: e.to_string(),
            help: e.help(),
            environment: true,
        };
        let Some(i) = self.commits.iter().position(|(time, ..)| *time <= secs) else {
            // Before the first commit: not declared yet, unless the clone is
            // shallow and the history was cut off.
            if self.repo.repo.is_shallow() {
                return Err(fail(GitError::Shallow(format!(
                    "the commit in force at {}",
                    rfc3339(secs, 0)
                ))));
            }
            return Ok(None);
        };
        let Some(tree) = self.commits[i].2 else {
            return Ok(None);
        };
        let mut first = i;
        while self
            .commits
            .get(first + 1)
            .is_some_and(|c| c.2 == Some(tree))
        {
            first += 1;
        }
        let oid = self.commits[first].1;
        if let Some(v) = self.versions.get(&oid) {
            return Ok(Some(Arc::clone(v)));
        }
        let commit = self
            .repo
            .repo
            .find_commit(oid)
            .map_err(|e| fail(e.into()))?;
        let loaded = self.repo.load_at(&commit, &self.dir).map_err(fail)?;
        let errors = loaded
            .findings
            .iter()
            .filter(|f| f.severity == crate::model::Severity::Error)
            .count();
        let v = Arc::new(crate::check::Version {
            commit: info(&commit),
            alignment: loaded.alignment,
            errors,
        });
        self.versions.insert(oid, Arc::clone(&v));
        Ok(Some(v))
    }
}

/// Parses a date (`2026-03-31`, end of that day in UTC, or RFC 3339) to seconds.
pub fn parse_time(text: &str, end_of_day: bool) -> Option<i64> {
    if let Ok(ts) = text.parse::<jiff::Timestamp>() {
        return Some(ts.as_second());
    }
    let date = text.parse::<jiff::civil::Date>().ok()?;
    let dt = if end_of_day {
        date.at(23, 59, 59, 0)
    } else {
        date.at(0, 0, 0, 0)
    };
    dt.to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp().as_second())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_request_numbers() {
        assert_eq!(
            pull_request("Merge pull request #42 from acme/raise-mql"),
            Some(42)
        );
        assert_eq!(pull_request("Raise the MQL target (#17)"), Some(17));
        assert_eq!(pull_request("Raise the MQL target"), None);
        assert_eq!(pull_request("Fix #12 in title"), None);
        assert_eq!(pull_request("odd (#12a)"), None);
    }

    #[test]
    fn dates() {
        assert_eq!(parse_time("2026-03-31", false), Some(1_774_915_200));
        assert_eq!(parse_time("2026-03-31", true), Some(1_774_915_200 + 86_399));
        assert_eq!(
            parse_time("2026-03-31T12:00:00Z", false),
            Some(1_774_958_400)
        );
        assert_eq!(parse_time("main", false), None);
    }
}
