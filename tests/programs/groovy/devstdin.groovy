print new File('/dev/stdin').getText('UTF-8')
