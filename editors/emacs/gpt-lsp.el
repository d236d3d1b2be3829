;;; gpt-lsp.el --- gpt-lsp (AI code actions and inline chat) for eglot  -*- lexical-binding: t; -*-

;; Version: 0.1.0
;; Package-Requires: ((emacs "27.1") (eglot "1.9"))
;; Keywords: tools, languages

;;; Commentary:

;; A thin shim: it starts the `gpt-lsp' server through eglot, passes the settings,
;; and adds commands to type an instruction and to keep, undo or stop a job.
;; Prompts, defaults and all job logic live in the server.
;;
;;   (require 'gpt-lsp)
;;   (setq gpt-lsp-settings '(:baseUrl "https://relay.example/v1" :model "gpt-4o"))
;;   (gpt-lsp-register)   ; then M-x eglot in a buffer of one of `gpt-lsp-modes'

;;; Code:

(require 'eglot)
(require 'jsonrpc)
(require 'cl-lib)
(require 'diff-mode)  ; the faces of a pending edit inherit its
(require 'seq)
(require 'subr-x)

(defgroup gpt-lsp nil
  "AI code actions and inline chat through the gpt-lsp language server."
  :group 'eglot
  :prefix "gpt-lsp-")

(defcustom gpt-lsp-command '("gpt-lsp")
  "Program and arguments that start the server."
  :type '(repeat string))

(defcustom gpt-lsp-modes '(python-mode js-mode typescript-mode go-mode rust-mode c-mode c++-mode)
  "Major modes `gpt-lsp-register' associates with the server.
Eglot runs one server per buffer: these modes get gpt-lsp instead of
their usual server."
  :type '(repeat symbol))

(defcustom gpt-lsp-settings nil
  "The gpt-lsp settings object, as a plist with camelCase keys.
Your user-level settings, e.g. (:baseUrl \"https://relay/v1\" :model \"gpt-4o\"):
sent as initializationOptions (and by `gpt-lsp-update-settings').  Only the
global value counts: a directory-local value is ignored, so a project cannot
choose your relay.  A :gptLsp section in `eglot-workspace-configuration'
\(dir-locals) is project-level: the server takes model, temperature, exclude,
actions and the like from it, never relays, hosts, keys, headers, proxies or
weaker privacy switches."
  :type 'plist)
;; A cloned project's .dir-locals.el must not be able to set it (nor the command).
(put 'gpt-lsp-settings 'risky-local-variable t)
(put 'gpt-lsp-command 'risky-local-variable t)

(defconst gpt-lsp--user-only-keys
  '("baseUrl" "backupUrls" "relays" "relay" "apiKey" "apiKeyEnv" "headers" "proxy"
    "logContent" "excludeDefaults" "maskSecrets" "completion")
  "Keys the server takes from user-level settings only.
It ignores them in the gptLsp section, which a project can write.")

(defun gpt-lsp--user-settings ()
  "The user's settings: the global value of `gpt-lsp-settings', never a local one."
  (or (default-value 'gpt-lsp-settings) eglot--{}))

(defun gpt-lsp--user-only-p (key)
  "Non-nil when KEY (:baseUrl, baseUrl or \"baseUrl\") is user-only."
  (member (string-remove-prefix ":" (format "%s" key)) gpt-lsp--user-only-keys))

(defun gpt-lsp--section-settings ()
  "The user's settings without the user-only keys, to answer the gptLsp section.
The server would otherwise take them for a project's and warn about them."
  (let ((settings (default-value 'gpt-lsp-settings)) out)
    (if (consp (car-safe settings))
        ;; An alist ((baseUrl . "...") ...).
        (setq out (cl-remove-if (lambda (pair) (gpt-lsp--user-only-p (car pair))) settings))
      (while settings
        (unless (gpt-lsp--user-only-p (car settings))
          (setq out (append out (list (car settings) (cadr settings)))))
        (setq settings (cddr settings))))
    (or out eglot--{})))

(defclass gpt-lsp-server (eglot-lsp-server) ()
  :documentation "The gpt-lsp server, so its notifications and commands can be handled.")

;;;###autoload
(defun gpt-lsp-register ()
  "Associate `gpt-lsp-modes' with the server in `eglot-server-programs'."
  (interactive)
  (add-to-list 'eglot-server-programs
               (cons gpt-lsp-modes (cons 'gpt-lsp-server gpt-lsp-command))))

(cl-defmethod eglot-initialization-options ((_server gpt-lsp-server))
  "Send the user's `gpt-lsp-settings' as initializationOptions."
  (gpt-lsp--user-settings))

(cl-defmethod eglot-handle-request
  ((_server gpt-lsp-server) (_method (eql workspace/configuration)) &key items)
  "Answer the gptLsp section: dir-locals' if set, else the user's.
The user's without `gpt-lsp--user-only-keys': those go as initializationOptions."
  (let ((answers (cl-call-next-method)))
    (apply #'vector
           (cl-loop for item across items
                    for answer across answers
                    collect (if (and (null answer)
                                     (equal (plist-get item :section) "gptLsp"))
                                (gpt-lsp--section-settings)
                              answer)))))

;;;###autoload
(defun gpt-lsp-update-settings ()
  "Send the current `gpt-lsp-settings' to every running gpt-lsp server.
They replace the initializationOptions the server started with; use it after
changing relays or keys without restarting eglot."
  (interactive)
  (dolist (server (gpt-lsp--servers))
    (jsonrpc-notify server :gptLsp/didChangeUserSettings
                    (list :settings (gpt-lsp--user-settings)))))

(defun gpt-lsp--servers ()
  "The running gpt-lsp servers."
  (let (found)
    (maphash (lambda (_project servers)
               (dolist (server servers)
                 (when (cl-typep server 'gpt-lsp-server) (push server found))))
             eglot--servers-by-project)
    (delete-dups found)))

(cl-defmethod eglot-handle-request
  ((_server gpt-lsp-server) (_method (eql workspace/applyEdit)) &key edit label &allow-other-keys)
  "Apply streamed edits without a y-or-n-p each, and without echoing each one.
A job's edits (LABEL \"gpt-lsp job-N\") join one change group: one undo."
  ;; A job sends an edit every few hundred ms; eglot 1.9 would ask to confirm every one.
  (gpt-lsp--open-undo-group edit label)
  (let ((eglot-confirm-server-initiated-edits nil)
        (inhibit-message t))
    (cl-call-next-method)))

;;; Jobs under review: the original shown above the region, accept / reject at point.

(defface gpt-lsp-original '((t :inherit diff-removed :extend t))
  "The original text of a pending AI edit, shown above it.")

(defface gpt-lsp-new '((t :inherit diff-added :extend t))
  "The text of a pending AI edit.")

(defvar gpt-lsp-review-map
  (let ((map (make-sparse-keymap)))
    (define-key map (kbd "C-c C-c") #'gpt-lsp-accept)
    (define-key map (kbd "C-c C-k") #'gpt-lsp-reject)
    map)
  "Keys inside a pending AI edit.")

(defvar-local gpt-lsp--reviews nil
  "Overlays of this buffer's jobs under review: an alist (JOB-ID . OVERLAY).")

(defvar-local gpt-lsp--undo-groups nil
  "Change groups of this buffer's running jobs: an alist (LABEL . HANDLE).")

(defun gpt-lsp--open-undo-group (edit label)
  "Start a change group for the job LABEL names, at its first EDIT in a buffer."
  (when (and (stringp label) (string-match-p "\\`gpt-lsp job-[0-9]+\\'" label))
    (seq-doseq (change (plist-get edit :documentChanges))
      (let* ((uri (plist-get (plist-get change :textDocument) :uri))
             (buffer (and uri (find-buffer-visiting (eglot--uri-to-path uri)))))
        (when buffer
          (with-current-buffer buffer
            (unless (assoc label gpt-lsp--undo-groups)
              (let ((group (prepare-change-group)))
                (activate-change-group group)
                (push (cons label group) gpt-lsp--undo-groups)))))))))

(defun gpt-lsp--close-undo-group (job-id)
  "Make JOB-ID's edits one undo step: no boundary is left between them."
  (let ((entry (assoc (concat "gpt-lsp " job-id) gpt-lsp--undo-groups)))
    (when entry
      (setq gpt-lsp--undo-groups (delq entry gpt-lsp--undo-groups))
      (undo-amalgamate-change-group (cdr entry))
      (accept-change-group (cdr entry)))))

(defun gpt-lsp--draw-review (job-id status range original)
  "Show JOB-ID's region (RANGE) with ORIGINAL above it, or forget it once ended."
  (let ((old (assoc job-id gpt-lsp--reviews)))
    (when old
      (delete-overlay (cdr old))
      (setq gpt-lsp--reviews (delq old gpt-lsp--reviews))))
  (unless (equal status "running")
    (gpt-lsp--close-undo-group job-id))
  (unless (equal status "ended")
    (pcase-let* ((`(,beg . ,end) (eglot--range-region range))
                 (overlay (make-overlay beg end nil t nil)))
      (overlay-put overlay 'gpt-lsp-job job-id)
      (overlay-put overlay 'face 'gpt-lsp-new)
      (overlay-put overlay 'keymap gpt-lsp-review-map)
      (overlay-put overlay 'help-echo "AI edit: C-c C-c accept, C-c C-k reject")
      (unless (string-empty-p original)
        (overlay-put overlay 'before-string
                     (propertize (if (string-suffix-p "\n" original) original (concat original "\n"))
                                 'face 'gpt-lsp-original)))
      (push (cons job-id overlay) gpt-lsp--reviews))))

(cl-defmethod eglot-handle-notification
  ((_server gpt-lsp-server) (_method (eql gptLsp/review))
   &key jobId uri status range original &allow-other-keys)
  "Draw a job under review (running, pending) or remove it (ended)."
  (let ((buffer (find-buffer-visiting (eglot--uri-to-path uri))))
    (when buffer
      (with-current-buffer buffer
        (gpt-lsp--draw-review jobId status range (or original ""))))))

(cl-defmethod eglot-handle-notification
  ((_server gpt-lsp-server) (_method (eql gptLsp/jobFinished))
   &key status message summary &allow-other-keys)
  "Echo the server's one-line summary as is; errors already came as showMessage."
  (message "%s%s" (or summary (format "AI: %s" status))
           (if (and message (not (equal status "failed"))) (format " (%s)" message) "")))

(defun gpt-lsp--exec (command argument &optional then)
  "Send COMMAND with ARGUMENT to this buffer's server; call THEN with the result.
Asynchronous on purpose: reject and cancel answer once their edit shows in a
didChange, and eglot sends didChange only while Emacs is idle, never while a
synchronous request blocks it."
  (let ((server (eglot--current-server-or-lose)))
    ;; Flush pending changes first, so the server sees the text the range refers to.
    (eglot--signal-textDocument/didChange)
    (jsonrpc-async-request
     server :workspace/executeCommand
     (list :command command :arguments (vector argument))
     :success-fn (lambda (result) (when then (funcall then result)))
     :error-fn (lambda (err)
                 (message "gpt-lsp: %s failed: %s" command (plist-get err :message))))))

(cl-defmethod eglot-execute-command ((server gpt-lsp-server) command arguments)
  "Run a code action's COMMAND with ARGUMENTS without blocking Emacs.
eglot waits for the answer synchronously, and sends no didChange meanwhile; the
server answers a reject once the restored text shows in a didChange."
  (eglot--signal-textDocument/didChange)
  (jsonrpc-async-request
   server :workspace/executeCommand
   (list :command (format "%s" command) :arguments arguments)
   :success-fn #'ignore
   :error-fn (lambda (err)
               (message "gpt-lsp: %s failed: %s" command (plist-get err :message)))))

(defun gpt-lsp--actions ()
  "The server's actions, from gptLsp.status: a list of (:id :title :kind :output).
Asked each time (the server answers at once), so a settings change that adds
actions shows at the next call."
  (let ((status (jsonrpc-request (eglot--current-server-or-lose) :workspace/executeCommand
                                 (list :command "gptLsp.status" :arguments []))))
    (append (plist-get status :actions) nil)))

(defun gpt-lsp--range (beg end)
  "LSP range of BEG..END in the current buffer."
  (list :start (eglot--pos-to-lsp-position beg)
        :end (eglot--pos-to-lsp-position end)))

(defun gpt-lsp--region-or-line ()
  "The active region, else the current line."
  (if (use-region-p)
      (list (region-beginning) (region-end))
    (list (line-beginning-position) (line-beginning-position 2))))

;;;###autoload
(defun gpt-lsp-chat (beg end instruction &optional follow-up)
  "Rewrite BEG..END (region, else the line) following INSTRUCTION.
Interactively, with no active region and point inside a pending AI edit, it is a
FOLLOW-UP turn of that job: the server rewrites the job's region, knowing the
conversation so far."
  (interactive
   (let ((follow-up (and (not (use-region-p)) (gpt-lsp--job-at (point)) t)))
     (append (gpt-lsp--region-or-line)
             (list (read-string (if follow-up "AI (refine): " "AI: ")) follow-up))))
  (unless (string-empty-p instruction)
    (gpt-lsp--exec "gptLsp.chat"
                   (if follow-up
                       (list :uri (eglot--path-to-uri (buffer-file-name))
                             :position (eglot--pos-to-lsp-position (point))
                             :instruction instruction)
                     (list :uri (eglot--path-to-uri (buffer-file-name))
                           :range (gpt-lsp--range beg end)
                           :instruction instruction)))))

(defun gpt-lsp--job-at (pos)
  "The id of the job under review whose region holds POS, or nil."
  (cl-some (lambda (overlay) (overlay-get overlay 'gpt-lsp-job)) (overlays-at pos)))

;;;###autoload
(defun gpt-lsp-action (beg end action)
  "Run the server's ACTION (an id such as refactor) on BEG..END.
Interactively, pick it by title from the actions the server lists."
  (interactive
   (append (gpt-lsp--region-or-line)
           (let* ((actions (gpt-lsp--actions))
                  (titles (mapcar (lambda (a) (cons (plist-get a :title) (plist-get a :id)))
                                  actions))
                  (picked (completing-read "AI action: " titles nil nil)))
             ;; A title picked from the list, or an id typed as is.
             (list (or (cdr (assoc picked titles)) picked)))))
  (gpt-lsp--exec "gptLsp.run" (list :action action
                                    :uri (eglot--path-to-uri (buffer-file-name))
                                    :range (gpt-lsp--range beg end))))

(defun gpt-lsp--job-command (command verb job-id)
  "Run COMMAND on JOB-ID, else on the job at point.
Without an id the server picks: the job whose region holds point, else the
buffer's most recent job.  VERB names the command in the message."
  (gpt-lsp--exec command
                 (if job-id
                     (list :jobId job-id)
                   (let ((at (eglot--TextDocumentPositionParams)))
                     (list :uri (plist-get (plist-get at :textDocument) :uri)
                           :position (plist-get at :position))))
                 (lambda (result)
                   (unless (eq (plist-get result :ok) t)
                     (message "gpt-lsp: no job to %s at point or in this buffer" verb)))))

;;;###autoload
(defun gpt-lsp-accept (&optional job-id)
  "Keep the text of the job at point, or of JOB-ID.
Without JOB-ID: the job whose region holds point, else the buffer's most recent."
  (interactive)
  (gpt-lsp--job-command "gptLsp.accept" "accept" job-id))

;;;###autoload
(defun gpt-lsp-reject (&optional job-id)
  "Put back the original text of the job at point, or of JOB-ID.
Without JOB-ID: the job whose region holds point, else the buffer's most recent."
  (interactive)
  (gpt-lsp--job-command "gptLsp.reject" "reject" job-id))

;;;###autoload
(defun gpt-lsp-cancel (&optional job-id)
  "Stop the running job at point (else the buffer's most recent running job).
Its original text comes back.  With JOB-ID, stop that job."
  (interactive)
  (gpt-lsp--job-command "gptLsp.cancel" "cancel" job-id))

;;;###autoload
(defun gpt-lsp-select-model (model)
  "Set MODEL for the default relay's jobs, for this session.
Interactively, pick from the models the relay lists (any name can be typed)."
  (interactive
   (let* ((listed (jsonrpc-request (eglot--current-server-or-lose) :workspace/executeCommand
                                   (list :command "gptLsp.selectModel" :arguments [])))
          (models (append (plist-get listed :models) nil))
          (current (plist-get listed :current)))
     (when (plist-get listed :message)
       (message "gpt-lsp: %s" (plist-get listed :message)))
     (list (completing-read (format "Model (now %s): " current) models nil nil nil nil current))))
  (unless (string-empty-p model)
    (gpt-lsp--exec "gptLsp.selectModel" (list :model model)
                   (lambda (result)
                     (message "gpt-lsp: %s relay: %s" (plist-get result :relay)
                              (plist-get result :current))))))

;;; Status

(defun gpt-lsp--spend-line (label spend)
  "One line under LABEL for SPEND, gptLsp.status's usage.today or usage.month."
  (if (not spend)
      (format "%s: unknown (no usage ledger)" label)
    (let ((requests (or (plist-get spend :requests) 0))
          (quota (or (plist-get spend :quota) 0))
          (unpriced (or (plist-get spend :unpriced) 0)))
      (format "%s: $%.4f%s, %d request%s, %d tokens%s" label
              (or (plist-get spend :costUsd) 0)
              (if (> quota 0) (format " (%d quota)" quota) "")
              requests (if (= requests 1) "" "s")
              (or (plist-get spend :tokens) 0)
              (if (> unpriced 0)
                  (format ", %d without a price (not in the cost)" unpriced)
                "")))))

;;;###autoload
(defun gpt-lsp-status ()
  "Show the relays and models, the running jobs, and today's and this month's spend."
  (interactive)
  (let* ((status (jsonrpc-request (eglot--current-server-or-lose) :workspace/executeCommand
                                  (list :command "gptLsp.status" :arguments [])))
         (usage (plist-get status :usage))
         (running (seq-filter (lambda (job) (equal (plist-get job :status) "running"))
                              (plist-get status :jobs)))
         (lines (list (format "gpt-lsp %s" (plist-get status :version)))))
    (seq-doseq (relay (plist-get status :relays))
      (push (format "relay %s%s: %s, model %s" (plist-get relay :name)
                    (if (eq (plist-get relay :default) t) " (default)" "")
                    (plist-get relay :url) (plist-get relay :model))
            lines))
    (if (seq-empty-p running)
        (push "jobs: none running" lines)
      (seq-doseq (job running)
        (push (format "job %s %s running (%s tokens)" (plist-get job :jobId)
                      (plist-get job :action) (plist-get job :tokens))
              lines)))
    (push (gpt-lsp--spend-line "today" (plist-get usage :today)) lines)
    (push (gpt-lsp--spend-line "this month" (plist-get usage :month)) lines)
    (message "%s" (string-join (nreverse lines) "\n"))))

(provide 'gpt-lsp)
;;; gpt-lsp.el ends here
