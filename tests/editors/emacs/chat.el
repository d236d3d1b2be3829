;;; chat.el --- batch Emacs + eglot: a chat document opened, replied, applied, rejected  -*- lexical-binding: t; -*-
;; Run: emacs --batch -Q -l chat.el CONFIG.json ; pytest reads the JSON result it writes.

(load (expand-file-name "harness.el" (file-name-directory load-file-name)) nil t t)

(defvar test-replied nil "gptLsp/chatReplied params, most recent first.")
(cl-defmethod eglot-handle-notification :before
  ((_server gpt-lsp-server) (_method (eql gptLsp/chatReplied)) &rest params)
  (push params test-replied))

(defun test-chat-buffer ()
  "The buffer of the chat document."
  (cl-find-if (lambda (b) (and (buffer-file-name b) (string-suffix-p ".md" (buffer-file-name b))))
              (buffer-list)))

(defun test-run-action-at (pos title)
  "Run the code action TITLE at POS through eglot's menu; return the titles offered."
  (let ((last-nonmenu-event ?a) offered)
    (cl-letf (((symbol-function 'completing-read)
               (lambda (_prompt items &rest _) (setq offered (mapcar #'car items)) title)))
      (eglot-code-actions pos pos nil t))
    offered))

(condition-case err
    (progn
      (with-temp-file (expand-file-name "chat.py" (cfg 'workdir)) (insert (cfg 'source)))
      (test-open "chat.py")
      (let ((source (current-buffer)) chat)
        (goto-char (point-min))
        (search-forward (cfg 'func))
        (test-select (match-beginning 0) (match-end 0))
        (test-command #'gpt-lsp-chat-new "Why sum?")
        (test-wait-until 20 "the first reply" (lambda () (>= (length test-replied) 1)))
        (setq chat (test-chat-buffer))
        (test-record 'chat_mode (with-current-buffer chat gpt-lsp-chat-mode))
        (test-record 'chat_selected (eq (window-buffer (selected-window)) chat))
        (test-wait-until 10 "the first reply's text"
                         (lambda () (with-current-buffer chat
                                      (string-suffix-p "## You\n\n" (test-text)))))
        (test-record 'first (with-current-buffer chat (test-text)))
        ;; A follow-up typed at point (left under the new heading), sent with C-c C-c.
        (set-buffer chat)
        (test-record 'point_under_heading (looking-back "\n## You\n" nil))
        (insert "And speed?")
        (test-keys "C-c C-c")
        (test-wait-until 20 "the second reply" (lambda () (>= (length test-replied) 2)))
        (test-wait-until 10 "the second reply's text"
                         (lambda () (with-current-buffer chat
                                      (string-suffix-p "## You\n\n" (test-text)))))
        (test-record 'second (with-current-buffer chat (test-text)))
        ;; AI: Apply to chat.py on the first answer's code block.
        (goto-char (point-max))
        (re-search-backward "^```python$")  ; the answer's block (the second reply has none)
        (forward-line 1)
        (test-record 'offered (test-run-action-at (point) "AI: Apply to chat.py"))
        (let ((job (plist-get (test-wait-job 1) :jobId)))
          (test-wait-review job "pending")
          (pop-to-buffer source)  ; the user goes back to the code
          (test-record 'applied (test-text))
          (goto-char (point-min))
          (search-forward "sum(i for i")
          (test-command #'gpt-lsp-reject)
          (test-wait-review job "ended")
          (test-wait-until 10 "the original back" (lambda () (equal (test-text) (cfg 'source))))
          (test-record 'rejected (test-text)))
        ;; The picker opens when the list comes: its completing-read answered here.
        (cl-letf (((symbol-function 'completing-read)
                   (lambda (_prompt items &rest _)
                     (push (mapcar (lambda (i) (if (consp i) (car i) i)) items) test-offered)
                     "")))
          (call-interactively #'gpt-lsp-chats)
          (test-wait-until 10 "the chat list" (lambda () test-offered)))
        (test-record 'chats (car test-offered))
        (setcdr (assq 'ok result) t)))
  (error (test-record 'error (error-message-string err))))
(test-finish)
