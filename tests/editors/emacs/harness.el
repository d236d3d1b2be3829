;;; harness.el --- shared helpers of the batch Emacs tests  -*- lexical-binding: t; -*-
;; Loaded by each test script: reads the CONFIG.json named on the command line, records results.
;; The shim keeps no jobs: this test notes them from gptLsp/jobFinished itself, and records
;; what the shim sends with executeCommand and what the server answers.

(dolist (dir (directory-files "/usr/share/emacs/site-lisp/elpa" t "^[a-z]"))
  (add-to-list 'load-path dir))
(require 'json)
(defvar cfg (let ((json-object-type 'alist) (json-array-type 'list))
              (json-read-file (pop command-line-args-left))))
(defun cfg (key) (alist-get key cfg))
(add-to-list 'load-path (cfg 'shim_dir))
(require 'gpt-lsp)

(defvar result (list (cons 'ok :json-false)))
(defun test-record (key value) (push (cons key value) result))
(defun test-finish ()
  "Write the result file: the OK marker pytest checks, never the exit code."
  (let ((server (ignore-errors (eglot-current-server))))
    (when server (ignore-errors (eglot-shutdown server))))
  (with-temp-file (cfg 'out)
    (insert (json-encode result))))

(defun test-flush ()
  "Send every eglot-managed buffer's pending changes, as eglot's idle timer does."
  (dolist (buffer (buffer-list))
    (with-current-buffer buffer
      (when (and eglot--managed-mode eglot--recent-changes)
        (eglot--signal-textDocument/didChange)))))

(defun test-wait-until (seconds what pred)
  "Poll PRED, flushing didChange every 0.5 s as an idle Emacs would (batch is never idle)."
  (let ((deadline (+ (float-time) seconds)) (flushed (float-time)))
    (while (not (funcall pred))
      (when (> (float-time) deadline) (error "Timed out after %ss waiting for %s" seconds what))
      (when (> (- (float-time) flushed) 0.5)
        (test-flush)
        (setq flushed (float-time)))
      (accept-process-output nil 0.02))))

(defvar test-finished nil "gptLsp/jobFinished params, most recent first.")
(cl-defmethod eglot-handle-notification :before
  ((_server gpt-lsp-server) (_method (eql gptLsp/jobFinished)) &rest params)
  (push params test-finished))

(defvar test-reviews nil "gptLsp/review params, most recent first.")
(cl-defmethod eglot-handle-notification :before
  ((_server gpt-lsp-server) (_method (eql gptLsp/review)) &rest params)
  (push params test-reviews))

(defun test-wait-review (job-id status &optional seconds)
  "Wait for JOB-ID's gptLsp/review with STATUS; return its params."
  (let (found)
    (test-wait-until (or seconds 20) (format "%s %s" job-id status)
                     (lambda ()
                       (setq found (cl-find-if (lambda (p) (and (equal (plist-get p :jobId) job-id)
                                                                 (equal (plist-get p :status) status)))
                                               test-reviews))))
    found))

(defun test-wait-overlay (status)
  "Wait for the shim's overlay of a job with STATUS (the last review it drew); return it."
  (let (found)
    (test-wait-until 10 (format "a %s overlay" status)
                     (lambda ()
                       (setq found (cl-find-if (lambda (ov) (equal (overlay-get ov 'gpt-lsp-status) status))
                                               (overlays-in (point-min) (point-max))))))
    found))

(defvar test-commands nil "(COMMAND ARGUMENT RESULT) the shim sent, most recent first.")
(advice-add 'gpt-lsp--exec :around
            (lambda (exec command argument &optional then)
              (let ((entry (list command argument 'waiting)))
                (push entry test-commands)
                (funcall exec command argument
                         (lambda (answer)
                           (setf (nth 2 entry) answer)
                           (when then (funcall then answer)))))))

(defun test-wait-job (count)
  "Wait for the COUNT-th gptLsp/jobFinished; return its params."
  (test-wait-until 20 "gptLsp/jobFinished" (lambda () (>= (length test-finished) count)))
  (nth (- (length test-finished) count) test-finished))

(defun test-wait-command (command)
  "Wait for the answer to the last COMMAND the shim sent; return (argument result)."
  (let ((entry (cl-find command test-commands :key #'car :test #'equal)))
    (unless entry (error "%s was never sent" command))
    (test-wait-until 10 (format "the answer to %s" command)
                     (lambda () (not (eq (nth 2 entry) 'waiting))))
    (list (cons 'argument (nth 1 entry)) (cons 'result (nth 2 entry)))))

(defun test-last-message ()
  "The last line of *Messages*: what the user saw last in the echo area."
  (with-current-buffer (messages-buffer)
    (goto-char (point-max))
    (skip-chars-backward "\n")
    (buffer-substring-no-properties (line-beginning-position) (point))))

(defun test-text () (buffer-substring-no-properties (point-min) (point-max)))

(defun test-goto (line)
  "Point at the start of LINE (1-based)."
  (goto-char (point-min))
  (forward-line (1- line)))


(defvar test-prompts nil "Questions the editor asked with y-or-n-p or yes-or-no-p: none wanted.")
(dolist (asker '(y-or-n-p yes-or-no-p))
  (advice-add asker :override (lambda (prompt &rest _) (push prompt test-prompts) nil)))

(defun test-open (file)
  "Visit FILE (written by pytest in the work dir) in python-mode with gpt-lsp through eglot,
as a user with transient-mark-mode (on in a normal Emacs, off in batch) would."
  (setq gpt-lsp-command (cfg 'cmd)
        gpt-lsp-settings (cfg 'settings)
        gpt-lsp-modes '(python-mode)
        eglot-sync-connect t
        eglot-autoshutdown t)
  (transient-mark-mode 1)
  (gpt-lsp-register)
  (find-file (expand-file-name file (cfg 'workdir)))
  (python-mode)
  (apply #'eglot (eglot--guess-contact))
  (test-wait-until 15 "the server" (lambda () (eglot-current-server))))

(defvar test-asked nil "The prompts of the commands run, most recent first.")
(defvar test-offered nil "The items offered to pick from, most recent first.")

(defun test-command (command &rest answers)
  "Run COMMAND from a key, through the command loop; ANSWERS answer its prompts in order.
The command loop is what a user's key goes through: an undo boundary before, the
mark deactivated after a command that changed the buffer."
  (global-set-key (kbd "C-c z") command)
  (cl-letf (((symbol-function 'read-string)
             (lambda (prompt &rest _) (push prompt test-asked) (pop answers)))
            ((symbol-function 'completing-read)
             (lambda (prompt items &rest _)
               (push prompt test-asked)
               (push (mapcar (lambda (i) (if (consp i) (car i) i)) items) test-offered)
               (pop answers))))
    (test-keys "C-c z")))

(defun test-keys (keys)
  "Type KEYS (a `kbd' string) as the user would, each key a command."
  (execute-kbd-macro (kbd keys)))

(defun test-select (beg end)
  "Select BEG..END as a user does (mark, then point): the region is active."
  (goto-char beg)
  (push-mark beg t t)
  (goto-char end))

(defun test-undo ()
  "One undo, as a user presses C-_."
  (test-keys "C-_"))

(defvar test-messages nil "Every `message' (even one not shown), most recent first: (TEXT . SHOWN).")
(advice-add 'message :around
            (lambda (message format &rest args)
              (let ((text (apply message format args)))
                (when text (push (cons text (not inhibit-message)) test-messages))
                text)))

(defun test-echo ()
  "What the echo area shows last: the last message shown."
  (car (cl-find-if #'cdr test-messages)))

(defun test-servers ()
  "Every eglot server running, whatever its project."
  (let (found)
    (maphash (lambda (_project servers) (setq found (append servers found))) eglot--servers-by-project)
    (delete-dups found)))
